"""The ASGI application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text

from service.core import merge_patch, preconditions
from service.core import metrics as prometheus
from service.core.caching import document_conditional_reads
from service.core.db import create_engine, create_sessionmaker
from service.core.errors import document_problems, install_error_handlers, problem_response
from service.core.explorers import explorers_router
from service.core.limits import RateLimiter
from service.core.middleware import MethodsMiddleware, RequestMiddleware, configure_logging
from service.core.openapi import document_implicit_bounds
from service.core.response_cache import ResponseCacheMiddleware
from service.feed.rest import router as feed_router
from service.graphql import graphql_router
from service.measurements.rest import router as measurements_router
from service.registry.rest import admin_router as registry_admin_router
from service.registry.rest import router as registry_router
from service.seed.rest import router as seed_router
from service.settings import Settings, get_settings
from service.strategy.rest import admin_router as strategy_admin_router
from service.strategy.rest import router as strategy_router
from service.webhooks.rest import router as webhooks_router

DESCRIPTION = """
The Ministry of the Interior's sector strategy, indicator measurements and registry of
international organisations. Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        yield
        await engine.dispose()

    configure_logging(settings.log_level)
    app = FastAPI(
        title="Interior sector service",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        # operationId = the route function's name (`list_organizations`), so generated clients read well.
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.state.write_limiter = RateLimiter(settings.write_rate_per_token)
    # Added last is outermost: RequestMiddleware → CORS → HEAD/OPTIONS → response cache → routes. CORS sits
    # outside the cache, so a cached answer never carries the CORS headers of the caller it was first made for.
    app.add_middleware(ResponseCacheMiddleware, max_bytes=settings.response_cache_mb * 1_000_000)
    app.add_middleware(MethodsMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "Idempotency-Key",
                "X-Request-ID",
            ],
            expose_headers=["ETag", "Location", "X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestMiddleware, settings=settings)
    app.include_router(registry_router)
    app.include_router(registry_admin_router)
    app.include_router(strategy_router)
    app.include_router(strategy_admin_router)
    app.include_router(measurements_router)
    app.include_router(feed_router)
    app.include_router(seed_router)
    app.include_router(webhooks_router)
    app.include_router(graphql_router(settings), prefix="/graphql", include_in_schema=False)
    app.include_router(explorers_router(app.title, app.openapi_url))

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], responses={503: {"description": "The database is not reachable."}})
    async def readyz(request: Request) -> JSONResponse:
        """The database answers."""
        try:
            async with request.app.state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # any failure to reach the database means: not ready
            return problem_response(503, "The database is not reachable.", headers={"Retry-After": "5"})
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def metrics() -> Response:
        """Prometheus metrics: requests and latency per route, database pool, GraphQL operations."""
        return Response(prometheus.render(), media_type=prometheus.CONTENT_TYPE)

    def openapi() -> dict:
        if app.openapi_schema is None:
            generated = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            documented = preconditions.document(merge_patch.document(document_problems(generated)))
            app.openapi_schema = document_conditional_reads(
                document_implicit_bounds(documented, settings.max_body_bytes)
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
