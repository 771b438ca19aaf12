"""Hostile and odd input, limits and operational surfaces: clear errors, never a 500."""

import json

import httpx
import pytest

from service.app import create_app
from service.core.middleware import JsonFormatter
from tests.helpers import bearer, graphql, indicator_id


@pytest.fixture
async def tight_client(settings, tokens):
    """The app with small limits, to reach them cheaply."""
    app = create_app(
        settings.model_copy(
            update={"max_body_bytes": 2_000, "write_rate_per_token": 3, "cors_origins": ["https://portal.example"],
                    "graphql_introspection": False}
        )
    )  # fmt: skip
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield client


async def test_request_id_and_security_headers(client):
    response = await client.get("/api/v1/institutions", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    generated = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated.headers["x-request-id"]) == 32


async def test_oversized_bodies_get_413(tight_client, tokens):
    big = "indicator_code,year,institution,value,comment\n" + "1.1.1,2024,,80%,x\n" * 500
    response = await tight_client.post(
        "/api/v1/measurements/import", content=big.encode(), headers=bearer(tokens["VP"]) | {"content-type": "text/csv"}
    )
    assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"

    async def chunks():
        for _ in range(10):
            yield b"x" * 500

    streamed = await tight_client.post("/api/v1/measurements/import", content=chunks(), headers=bearer(tokens["VP"]))
    assert streamed.status_code == 413


async def test_writes_are_rate_limited_per_token(tight_client, tokens):
    statuses = [
        (await tight_client.post("/api/v1/organizations", json={}, headers=bearer(tokens["PMLP"]))).status_code
        for _ in range(4)
    ]
    assert statuses[:3] == [403, 403, 403]
    assert statuses[3] == 429
    limited = await tight_client.post("/api/v1/organizations", json={}, headers=bearer(tokens["PMLP"]))
    assert int(limited.headers["retry-after"]) >= 1
    assert (await tight_client.get("/api/v1/organizations")).status_code == 200  # reads are not limited


async def test_cors_only_for_configured_origins(tight_client, client):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    allowed = await tight_client.options("/graphql", headers={"Origin": "https://portal.example"} | preflight)
    assert allowed.headers["access-control-allow-origin"] == "https://portal.example"
    other = await tight_client.options("/graphql", headers={"Origin": "https://evil.example"} | preflight)
    assert "access-control-allow-origin" not in other.headers
    assert (
        "access-control-allow-origin"
        not in (await client.get("/healthz", headers={"Origin": "https://portal.example"})).headers
    )


async def test_graphql_limits(client, tight_client):
    deep = "{ strategies { edges { node { areas { goals " + "{ indicators { goal " * 6 + "{ id }" + " } }" * 6
    deep += " } } } } }"
    assert "exceeds maximum operation depth" in (await graphql(client, deep))["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{n}: institutions {{ totalCount }}" for n in range(40)) + " }"
    assert (await graphql(client, aliases))["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    huge = (await graphql(client, "{ organizations(first: 501) { totalCount } }"))["errors"][0]
    assert huge["extensions"]["code"] == "BAD_USER_INPUT" and "500" in huge["message"]
    tokens_bomb = "{ institutions { edges { node { " + "code " * 6000 + "} } } }"
    too_long = (await graphql(client, tokens_bomb))["errors"][0]
    assert too_long["extensions"]["code"] == "GRAPHQL_PARSE_FAILED" and "tokens" in too_long["message"]
    introspection = (await graphql(tight_client, "{ __schema { types { name } } }"))["errors"][0]
    assert introspection["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "errors" not in await graphql(client, "{ __schema { queryType { name } } }")


@pytest.mark.parametrize(
    "q", ["\x00", "'; DROP TABLE organization; --", "ąčęėįšųūž" * 20, "%_\\", "🙂", "a" * 200, "\u202e\u200b"]
)
async def test_odd_search_text_never_fails(client, q):
    response = await client.get("/api/v1/organizations", params={"q": q})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.headers["content-type"] == "application/problem+json"


async def test_odd_text_is_stored_exactly_or_refused_clearly(client, tokens):
    ind = await indicator_id(client, "3.2.1")
    url = f"/api/v1/indicators/{ind}/measurements"
    odd = "Komentārs: ' OR 1=1; -- 🙂 \u202e ķ" + "x" * 3000
    stored = await client.post(url, json={"year": 2025, "value": "1500", "comment": odd}, headers=bearer(tokens["VP"]))
    if stored.status_code == 422:  # the year may still be in the future when this runs
        assert "future" in stored.json()["detail"]
        stored = await client.post(
            url, json={"year": 2024, "value": "1500", "comment": odd}, headers=bearer(tokens["VP"])
        )
    assert stored.status_code == 201 and stored.json()["comment"] == odd
    nul = await client.post(
        url, json={"year": 2023, "value": "1500", "comment": "a\x00b"}, headers=bearer(tokens["VP"])
    )
    assert nul.status_code == 422 and nul.headers["content-type"] == "application/problem+json"


async def test_metrics(client):
    await client.get("/api/v1/institutions")
    await graphql(client, "query Strategies { strategies { totalCount } }")
    await graphql(client, "query Probe { institutions { totalCount } }")
    text = (await client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/api/v1/institutions",status="200"}' in text
    assert 'http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/api/v1/institutions"}' in text
    assert 'graphql_operations_total{name="Strategies",type="query"}' in text
    assert 'graphql_operations_total{name="other",type="query"}' in text  # Probe is not a known operation
    assert 'db_pool_connections{state="size"}' in text


async def test_access_log_is_json_with_request_id_and_caller_never_the_token(client, tokens, caplog):
    caplog.set_level("INFO", logger="service.access")
    await client.post("/api/v1/organizations", json={}, headers=bearer(tokens["VP"]) | {"X-Request-ID": "trace-42"})
    (record,) = [r for r in caplog.records if r.name == "service.access" and getattr(r, "request_id", "") == "trace-42"]
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry | {"duration_ms": 0} == entry | {
        "request_id": "trace-42", "method": "POST", "path": "/api/v1/organizations", "status": 403,
        "principal": "agency:VP", "duration_ms": 0,
    }  # fmt: skip
    assert tokens["VP"] not in line and tokens["VP"] not in caplog.text


async def test_anonymous_graphql_reads_are_not_rate_limited(tight_client):
    statuses = {
        (await tight_client.post("/graphql", json={"query": "{ institutions { totalCount } }"})).status_code
        for _ in range(6)
    }
    assert statuses == {200}


async def test_server_faults_reach_clients_without_internals(settings):
    """A statement that outlives the database's timeout: 503 / SERVICE_UNAVAILABLE, and no SQL in the answer."""
    app = create_app(settings.model_copy(update={"db_statement_timeout_ms": 1, "response_cache_mb": 0}))
    tree = (
        "{ strategies { edges { node { areas { goals { indicators { targets { text } } } "
        "actionDirections { tasks { text { lv } } } } } } } }"
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            graphql_answers = [(await client.post("/graphql", json={"query": tree})).json() for _ in range(5)]
            rest_answers = [await client.get("/api/v1/indicators", params={"limit": 500}) for _ in range(5)]
    failed = [a for a in graphql_answers if a.get("errors")]
    assert failed, "a 1 ms statement timeout should have cancelled something"
    for answer in failed:
        for error in answer["errors"]:
            assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", error
            assert "SELECT" not in error["message"] and "canceling" not in error["message"]
    for response in rest_answers:
        assert response.status_code in (200, 503), response.text
        if response.status_code == 503:
            assert "SELECT" not in response.text and response.headers["retry-after"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{not json", "application/json"), (b'{"foo": 1}', "application/json"), (b"x", "text/plain"),
     (b'{"query": 5}', "application/json")],
)  # fmt: skip
async def test_malformed_graphql_requests_get_problem_json(client, body, content_type):
    response = await client.post("/graphql", content=body, headers={"content-type": content_type})
    assert response.status_code == (415 if content_type == "text/plain" else 400)
    assert response.headers["content-type"] == "application/problem+json" and response.json()["detail"]


async def test_access_log_names_the_caller_of_a_graphql_mutation(client, tokens, caplog):
    caplog.set_level("INFO", logger="service.access")
    mutation = 'mutation { deleteInstitution(code: "NO-SUCH-CODE") }'
    headers = bearer(tokens["admin"]) | {"X-Request-ID": "trace-43"}
    answer = (await client.post("/graphql", json={"query": mutation}, headers=headers)).json()
    assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    (record,) = [r for r in caplog.records if r.name == "service.access" and getattr(r, "request_id", "") == "trace-43"]
    assert record.principal == "admin:-"
