# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml ./
COPY service ./service
RUN pip install --no-cache-dir --prefix=/install .

# GraphiQL's browser files, as `make install` fetches them (package-lock.json pins versions and hashes).
FROM node:20-slim AS explorers
WORKDIR /explorers
COPY service/core/explorers/package.json service/core/explorers/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --no-create-home service
WORKDIR /app
COPY --from=build /install /usr/local
COPY alembic.ini ./
COPY migrations ./migrations
COPY data ./data
COPY service ./service
COPY --from=explorers /explorers/node_modules ./service/core/explorers/node_modules
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
# Migrations and the (idempotent) seed load run at every start; then the API serves.
CMD ["sh", "-c", "python -m service migrate && python -m service seed && exec python -m service serve --host 0.0.0.0 --port 8000 --workers ${WORKERS:-2}"]
