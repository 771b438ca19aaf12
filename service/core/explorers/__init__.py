"""The API explorers, served by this process with no CDN: Swagger UI at /docs and ReDoc at /redoc from the
files the `fastapi-offline` package ships, GraphiQL at /graphql from the npm packages `make install` puts
in node_modules here (package.json pins them; package-lock.json holds their integrity hashes).

Each page loads its scripts and styles from /explorer-assets/ only, and starts the explorer from a script
file rather than inline code, so the pages' Content-Security-Policy can say `script-src 'self'`.

GraphiQL and Swagger UI sign a person in (sign-in.js) with the authorization-code flow and PKCE at the
configured identity provider, as the public client `OIDC_CLIENT_ID`; /explorer-assets/sign-in.json tells the
script where. The access token stays in the tab's sessionStorage and goes out as `Authorization: Bearer`."""

import logging
from importlib.resources import files
from pathlib import Path
from string import Template

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

log = logging.getLogger("service.explorers")

HERE = Path(__file__).parent
PAGES = HERE / "pages"
NODE_MODULES = HERE / "node_modules"
OPENAPI_STATIC = Path(str(files("fastapi_offline") / "static"))
ASSETS_PREFIX = "/explorer-assets"

ASSETS: dict[str, Path] = {
    "swagger-ui-bundle.js": OPENAPI_STATIC / "swagger-ui-bundle.js",
    "swagger-ui.css": OPENAPI_STATIC / "swagger-ui.css",
    "redoc.standalone.js": OPENAPI_STATIC / "redoc.standalone.js",
    "favicon.png": OPENAPI_STATIC / "favicon.png",
    "swagger-start.js": PAGES / "swagger-start.js",
    "graphiql-start.js": PAGES / "graphiql-start.js",
    "graphiql-start.css": PAGES / "graphiql-start.css",
    "sign-in.js": PAGES / "sign-in.js",
    "sign-in.css": PAGES / "sign-in.css",
}
GRAPHIQL_ASSETS: dict[str, Path] = {
    "react.production.min.js": NODE_MODULES / "react/umd/react.production.min.js",
    "react-dom.production.min.js": NODE_MODULES / "react-dom/umd/react-dom.production.min.js",
    "graphiql.min.js": NODE_MODULES / "graphiql/graphiql.min.js",
    "graphiql.min.css": NODE_MODULES / "graphiql/graphiql.min.css",
    "plugin-explorer.umd.js": NODE_MODULES / "@graphiql/plugin-explorer/dist/index.umd.js",
    "plugin-explorer.css": NODE_MODULES / "@graphiql/plugin-explorer/dist/style.css",
}


def missing_graphiql_assets() -> list[Path]:
    return [path for path in GRAPHIQL_ASSETS.values() if not path.is_file()]


def _page(name: str, request: Request, **values: str) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    text = Template((PAGES / name).read_text(encoding="utf-8")).substitute(assets=root + ASSETS_PREFIX, **values)
    return HTMLResponse(text)


def graphiql_page(request: Request) -> HTMLResponse:
    """GraphiQL, or, when `make install` has not fetched its files, a page that says so."""
    if missing_graphiql_assets():
        return _page("graphiql-missing.html", request)
    return _page("graphiql.html", request)


SIGN_IN_SCOPE = "openid profile"


def explorers_router(title: str, openapi_url: str, sign_in_client_id: str | None = None) -> APIRouter:
    """/docs, /redoc and the explorers' files; GraphiQL's page is rendered by the GraphQL router."""
    if missing := missing_graphiql_assets():
        log.warning("GraphiQL's files are missing (%s): run `make install` to fetch them", missing[0])
    router = APIRouter(include_in_schema=False)
    assets = ASSETS | GRAPHIQL_ASSETS

    @router.get("/docs")
    async def swagger_ui(request: Request) -> HTMLResponse:
        return _page("swagger.html", request, title=title, openapi=request.scope.get("root_path", "") + openapi_url)

    @router.get("/redoc")
    async def redoc(request: Request) -> HTMLResponse:
        return _page("redoc.html", request, title=title, openapi=request.scope.get("root_path", "") + openapi_url)

    @router.get(ASSETS_PREFIX + "/sign-in.json")
    async def sign_in(request: Request) -> JSONResponse:
        oidc = request.app.state.oidc
        if oidc is None or not sign_in_client_id:
            raise HTTPException(404, "Sign-in is not configured: set OIDC_ISSUERS and OIDC_CLIENT_ID.")
        authorization_endpoint, token_endpoint = await oidc.sign_in_endpoints()
        return JSONResponse({
            "client_id": sign_in_client_id, "scope": SIGN_IN_SCOPE,
            "authorization_endpoint": authorization_endpoint, "token_endpoint": token_endpoint,
        })  # fmt: skip

    @router.get(ASSETS_PREFIX + "/{name}")
    async def asset(name: str) -> FileResponse:
        path = assets.get(name)
        if path is None:
            raise HTTPException(404, f"There is no explorer file {name!r}.")
        if not path.is_file():
            raise HTTPException(404, f"{name} is not installed: run `make install`, which fetches GraphiQL's files.")
        return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})

    return router
