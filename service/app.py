"""The ASGI application."""

import gc
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.core import merge_patch, preconditions
from service.core import metrics as prometheus
from service.core.auth import OidcConfig, OidcVerifier
from service.core.caching import document_conditional_reads
from service.core.db import create_engine, create_sessionmaker
from service.core.errors import document_problems, install_error_handlers, problem_response
from service.core.explorers import explorers_router
from service.core.limits import RateLimiter
from service.core.live import ChangeListener
from service.core.middleware import MethodsMiddleware, RequestMiddleware, configure_logging
from service.core.openapi import document_implicit_bounds, share_descriptions
from service.core.response_cache import ResponseCacheMiddleware
from service.exports.rest import router as exports_router
from service.feed.rest import router as feed_router
from service.graphql import OPENAPI_OWN_DESCRIPTIONS, OPENAPI_TWINS, graphql_router
from service.graphql import schema as graphql_schema
from service.measurements.reporting_rest import router as reporting_router
from service.measurements.rest import router as measurements_router
from service.registry.repository import get_institution_by_code
from service.registry.rest import admin_router as registry_admin_router
from service.registry.rest import router as registry_router
from service.reports.rest import router as reports_router
from service.seed.rest import router as seed_router
from service.settings import Settings, get_settings
from service.strategy.rest import admin_router as strategy_admin_router
from service.strategy.rest import router as strategy_router
from service.webhooks.rest import router as webhooks_router

DESCRIPTION = """
The Ministry of the Interior's sector strategy, indicator measurements and registry of
international organisations. Errors are RFC 9457 `application/problem+json`.
"""


async def _institution_by_code(session: AsyncSession, code: str) -> tuple[uuid.UUID, str] | None:
    row = await get_institution_by_code(session, code)
    return (row.id, row.code) if row else None


def oidc_verifier(settings: Settings) -> OidcVerifier | None:
    """The verifier of people's access tokens, when issuers are configured."""
    if not settings.oidc_issuers:
        return None
    config = OidcConfig(
        issuers=tuple(settings.oidc_issuers),
        audience=settings.oidc_audience,
        role_claim=settings.oidc_role_claim,
        institution_claim=settings.oidc_institution_claim,
        name_claim=settings.oidc_name_claim,
        leeway_s=settings.oidc_leeway_s,
        refetch_interval_s=settings.oidc_jwks_refetch_s,
        keys_max_age_s=settings.oidc_jwks_max_age_s,
        timeout_s=settings.oidc_timeout_s,
    )
    return OidcVerifier(config, _institution_by_code)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.change_listener = ChangeListener(
            settings.database_url, settings.db_connect_timeout_s, settings.graphql_subscription_recheck_s
        )
        # What is alive now (modules, the schema, the routes) lives as long as the process: frozen out of the
        # collector's full passes, which otherwise rescan all of it while a large answer is being built (a third
        # of a strategy tree's time, measured). Reference counting still frees whatever of it is let go.
        gc.collect()
        gc.freeze()
        yield
        await app.state.change_listener.close()
        if app.state.oidc is not None:
            await app.state.oidc.aclose()
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
        # No 307 to the path without its trailing `/`: an undocumented answer that clients follow blindly; the
        # path as sent is a route or a 404.
        redirect_slashes=False,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.state.write_limiter = RateLimiter(settings.write_rate_per_token)
    app.state.oidc = oidc_verifier(settings)
    # Added last is outermost: RequestMiddleware → CORS → HEAD/OPTIONS → response cache → routes. CORS sits
    # outside the cache, so a cached answer never carries the CORS headers of the caller it was first made for.
    app.add_middleware(ResponseCacheMiddleware, max_bytes=settings.response_cache_mb * 1_000_000)
    app.add_middleware(MethodsMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
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
    app.include_router(exports_router)  # before the registry's: /organizations/export.csv is one of its routes
    app.include_router(registry_router)
    app.include_router(registry_admin_router)
    app.include_router(strategy_router)
    app.include_router(strategy_admin_router)
    app.include_router(measurements_router)
    app.include_router(reporting_router)
    app.include_router(reports_router)
    app.include_router(feed_router)
    app.include_router(seed_router)
    app.include_router(webhooks_router)
    app.include_router(graphql_router(settings), prefix="/graphql", include_in_schema=False)
    app.include_router(explorers_router(app.title, app.openapi_url, settings.oidc_client_id))

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
            share_descriptions(app.openapi_schema, graphql_schema._schema, OPENAPI_TWINS, OPENAPI_OWN_DESCRIPTIONS)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
