"""GraphiQL, Swagger UI and ReDoc work on a closed network: headless Chromium (Debian's `chromium`) uses
them against the service under uvicorn on 127.0.0.1 while every request to any other address is
aborted, and no page may even try one. Plus the pages' Content-Security-Policy and the page GraphiQL
shows when `make install` has not fetched its files."""

import json
import os
import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from oidc_provider_mock import User
from playwright.async_api import Browser, Page

from service.app import create_app
from service.core import explorers
from tests.helpers import ROOT, Offline, indicator_id, served
from tests.oidc_provider import running_provider

OPENAPI = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def base_url(settings, seeded) -> str:
    env = os.environ | {"DATABASE_URL": settings.database_url, "LOG_LEVEL": "warning"}
    with served(env) as url:
        yield url


@pytest.fixture
async def offline(browser: Browser, base_url: str) -> AsyncIterator[Offline]:
    context = await browser.new_context()
    page = await context.new_page()
    watched = Offline(page, base_url)
    await context.route("**/*", watched.route)
    yield watched
    await context.close()
    assert watched.elsewhere == [], "the page tried to reach beyond the service"
    assert watched.refused_own == [], "the page's Content-Security-Policy refused the service's own files"


async def test_graphiql_runs_a_typed_query(offline: Offline):
    page = offline.page
    await page.goto(offline.base_url + "/graphql")
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    # One input event, as a paste is: typed key by key, the editor's bracket closing and completion hints
    # race the keys and may change the query on a loaded machine.
    await page.keyboard.insert_text('{ institution(code: "VP") { code name { en } } }')
    await page.locator(".graphiql-execute-button").click()
    response = page.locator(".graphiql-response")
    await response.get_by_text('"State Police"').wait_for()
    shown = json.loads((await response.locator(".CodeMirror-code").inner_text()).replace("\xa0", " "))  # CodeMirror's
    assert shown == {"data": {"institution": {"code": "VP", "name": {"en": "State Police"}}}}


async def test_swagger_ui_tries_out_a_get(offline: Offline):
    page = offline.page
    await page.goto(offline.base_url + "/docs")
    operation = page.locator("#operations-registry-get_institution")
    await operation.locator(".opblock-summary").click()
    await operation.get_by_role("button", name="Try it out").click()
    await operation.locator("input[placeholder=code]").fill("VP")
    await operation.get_by_role("button", name="Execute").click()
    answer = operation.locator(".live-responses-table tr.response")
    await answer.locator(".response-col_status").get_by_text("200").wait_for()
    body = json.loads(await answer.locator(".response-col_description .microlight").first.inner_text())
    assert body["code"] == "VP" and body["name"]["en"] == "State Police"


async def test_redoc_renders_every_operation(offline: Offline):
    page = offline.page
    await page.goto(offline.base_url + "/redoc")
    await page.locator("h2", has_text="List Institutions").wait_for()
    summaries = {op["summary"] for path in OPENAPI["paths"].values() for op in path.values()}
    headings = {text.strip() for text in await page.locator("h2").all_inner_texts()}
    assert summaries <= headings, f"ReDoc does not show {sorted(summaries - headings)}"


async def test_explorer_pages_allow_only_the_service_itself(client):
    for path in ("/graphql", "/docs", "/redoc"):
        response = await client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        sources = {token for directive in policy.split(";") for token in directive.split()[1:]}
        assert sources <= {"'self'", "'none'", "'unsafe-inline'", "data:", "blob:"}, policy
        assert "script-src 'self'" in policy and "<script>" not in response.text  # no inline script
        loaded = re.findall(r'(?:src|href)="([^"]+)"', response.text)
        assert loaded and all(urlsplit(url).netloc == "" for url in loaded), loaded
        for url in loaded:
            assert (await client.get(url)).status_code == 200, url
    api = await client.get("/api/v1/institutions")
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


async def test_missing_graphiql_files_say_to_run_make_install(settings, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(explorers, "GRAPHIQL_ASSETS", {name: tmp_path / name for name in explorers.GRAPHIQL_ASSETS})
    app = create_app(settings)
    warnings = [line for line in capsys.readouterr().err.splitlines() if "GraphiQL" in line]
    assert len(warnings) == 1 and "make install" in json.loads(warnings[0])["message"]
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                                   base_url="http://test") as client:  # fmt: skip
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "make install" in page.text and "graphiql.min.js" not in page.text
        missing = await client.get("/explorer-assets/graphiql.min.js")
        assert missing.status_code == 404 and "make install" in missing.json()["detail"]
        assert (await client.get("/docs")).status_code == 200


async def test_the_queries_the_pages_suggest_run(client):
    """GraphiQL's starting query and the missing-files page's example answer data, not errors: the schema they
    were written for is the one served."""
    pages = ROOT / "service" / "core" / "explorers" / "pages"
    start = re.search(r"const EXAMPLE_QUERY = `(.*?)`;", (pages / "graphiql-start.js").read_text(), re.S)
    missing = re.search(r"POST <code>(.*?)</code>", (pages / "graphiql-missing.html").read_text())
    assert start and missing
    for body in ({"query": start.group(1)}, json.loads(missing.group(1))):
        answer = (await client.post("/graphql", json=body)).json()
        assert "errors" not in answer and answer["data"]["institutions"]["edges"], body


PEOPLE = [
    User(sub="anna.berzina", claims={"name": "Anna Bērziņa", "role": "agency", "institution": "VUGD"}),
    User(sub="janis.ozols", claims={"name": "Jānis Ozols", "role": "admin"}),
]


@pytest.fixture(scope="module")
def provider():
    with running_provider(PEOPLE) as running:
        yield running


@pytest.fixture(scope="module")
def signing_in_url(settings, seeded, provider) -> str:
    """The service accepting the provider's tokens, its explorers signing in as the provider's public client."""
    env = os.environ | {"DATABASE_URL": settings.database_url, "LOG_LEVEL": "warning",
                        "OIDC_ISSUERS": json.dumps([provider.url]), "OIDC_CLIENT_ID": provider.client_id}  # fmt: skip
    with served(env) as url:
        yield url


@pytest.fixture
async def signing_in(browser: Browser, signing_in_url: str, provider) -> AsyncIterator[Offline]:
    context = await browser.new_context()
    page = await context.new_page()
    watched = Offline(page, signing_in_url, provider.url)
    await context.route("**/*", watched.route)
    yield watched
    await context.close()
    assert watched.elsewhere == [], "the page tried to reach beyond the service and its identity provider"
    assert watched.refused_own == [], "the page's Content-Security-Policy refused the service's own files"


async def sign_in(page: Page, sub: str) -> None:
    """The explorer's Sign in button, the provider's form, and back, signed in."""
    await page.locator("#sign-in button", has_text="Sign in").click()
    await page.locator("input[name=sub]").fill(sub)
    await page.get_by_role("button", name="Authorize").click()
    await page.locator("#sign-in", has_text="Signed in as").wait_for()


async def test_graphiql_signs_a_person_in_and_their_write_names_them(signing_in: Offline):
    page = signing_in.page
    await page.goto(signing_in.base_url + "/graphql")
    await sign_in(page, "anna.berzina")
    assert await page.locator("#sign-in span").inner_text() == "Signed in as Anna Bērziņa"
    async with httpx.AsyncClient(base_url=signing_in.base_url) as client:
        ind = await indicator_id(client, "4.2.2")
        earlier = await client.get(f"/api/v1/indicators/{ind}/measurements/2023/history")
    # Other tests may have posted the year: then this is a correction of the revision they left.
    if_match = f", ifMatch: {json.dumps(earlier.headers['etag'])}" if earlier.status_code == 200 else ""
    revision = earlier.json()["items"][-1]["revision"] + 1 if earlier.status_code == 200 else 1
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.insert_text(
        f'mutation {{ recordMeasurement(input: {{indicatorId: "{ind}", year: 2023, value: "2,9"{if_match}}}) '
        "{ revision postedBy postedBySubject postedByName } }"
    )
    await page.locator(".graphiql-execute-button").click()
    response = page.locator(".graphiql-response")
    await response.locator(".CodeMirror-code", has_text='"data"').wait_for()
    shown = json.loads((await response.locator(".CodeMirror-code").inner_text()).replace("\xa0", " "))
    assert shown == {
        "data": {
            "recordMeasurement": {
                "revision": revision,
                "postedBy": "agency:VUGD",
                "postedBySubject": "anna.berzina",
                "postedByName": "Anna Bērziņa",
            }
        }
    }


async def test_swagger_ui_signs_an_admin_in_for_an_admin_read(signing_in: Offline):
    page = signing_in.page
    await page.goto(signing_in.base_url + "/docs")
    await sign_in(page, "janis.ozols")
    operation = page.locator("#operations-measurements-list_audit")
    await operation.locator(".opblock-summary").click()
    await operation.get_by_role("button", name="Try it out").click()
    await operation.get_by_role("button", name="Execute").click()
    answer = operation.locator(".live-responses-table tr.response")
    await answer.locator(".response-col_status").get_by_text("200").wait_for()


async def test_explorer_pages_may_reach_only_the_identity_provider_besides_the_service(settings, provider):
    app = create_app(settings.model_copy(update={"oidc_issuers": [provider.url + "/realms/x"],
                                                 "oidc_client_id": provider.client_id}))  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        policy = (await client.get("/docs")).headers["content-security-policy"]
        assert f"connect-src 'self' {provider.url};" in policy
        assert (
            (await client.get("/api/v1/institutions"))
            .headers["content-security-policy"]
            .startswith("default-src 'none'")
        )
