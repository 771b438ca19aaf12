"""Hostile requests an anonymous (or agency) caller can send: each is refused cheaply and clearly, before it
costs the service; the figures (time to refusal, a concurrent /healthz p99) are printed, never asserted."""

import asyncio
import os
import runpy
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from graphql import parse

from service.app import create_app
from service.core.graphql_cost import list_fields_without_bound, operation_cost_ms
from service.graphql import schema
from tests.helpers import graphql, if_match

ROOT = Path(__file__).resolve().parents[1]
BENCH_QUERIES = runpy.run_path(str(ROOT / "bench" / "queries.py"))
# The strategy tree 31 times (30 aliases), each with an indicator → goal → indicators loop: 2 KB and inside
# every documented limit (depth ≤ 12, ≤ 30 aliases, < 5000 tokens).
COSTLY = (
    "{ strategies { ...Tree } " + " ".join(f"t{n}: strategies {{ ...Tree }}" for n in range(30)) + " } "
    "fragment Tree on StrategyConnection { edges { node { areas { goals { indicators { code name { lv } "
    "targets { year text value } goal { indicators { code name { lv } targets { year text value } "
    "goal { indicators { code } } } } } } } } } }"
)
TYPENAME_BOMB = "{ " + "__typename " * 440_000 + "}"  # 4.8 MB


def _served(env: dict, workers: int = 1) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, cwd=ROOT, env=os.environ | env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return server, base_url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.kill()
    pytest.fail("the served app did not become ready")


@pytest.fixture(scope="module")
def served(database_url, seeded):
    """`python -m service serve` (one uvicorn worker, as `make run`) on the test database."""
    server, base_url = _served({"DATABASE_URL": database_url, "LOG_LEVEL": "warning"})
    yield base_url
    server.terminate()
    server.wait(10)


async def _refusal_with_healthz(base_url: str, send) -> tuple[httpx.Response, float, float]:
    """Sends the attack while a second client reads /healthz in a loop: (answer, seconds to it, /healthz p99)."""
    latencies: list[float] = []
    done = asyncio.Event()
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=120) as attacker,
        httpx.AsyncClient(base_url=base_url, timeout=120) as reader,
    ):

        async def read() -> None:
            while not done.is_set():
                started = time.perf_counter()
                await reader.get("/healthz")
                latencies.append(time.perf_counter() - started)

        probe = asyncio.create_task(read())
        started = time.perf_counter()
        response = await send(attacker)
        elapsed = time.perf_counter() - started
        done.set()
        await probe
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 2 else latencies[0]
    return response, elapsed, p99


async def test_the_31_times_tree_is_refused_before_it_executes(client, sql_statements):
    assert len(COSTLY) < 2_500 and COSTLY.count(":") == 30
    sql_statements.reset()
    answer = await graphql(client, COSTLY)
    (error,) = answer["errors"]
    assert answer.get("data") is None
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    cost, budget = error["extensions"]["cost_ms"], error["extensions"]["budget_ms"]
    assert cost > budget == 5000
    assert f"{cost} ms" in error["message"] and f"budget is {budget} ms" in error["message"]
    assert [s for s in sql_statements.statements if "pg_current_snapshot" not in s] == []  # nothing executed


async def test_the_dashboard_tree_and_a_500_row_page_fit_the_budget(client):
    tree = await graphql(client, BENCH_QUERIES["SERVICE_STRATEGIES"], uncached=True)
    assert "errors" not in tree and tree["data"]["strategies"]["edges"][0]["node"]["areas"]
    page = BENCH_QUERIES["SERVICE_ORGANIZATIONS"].replace("first: 100", "first: 500")
    organizations = await graphql(client, page, uncached=True)
    assert "errors" not in organizations and organizations["data"]["organizations"]["edges"]


def test_cost_counts_aliases_fragments_and_first():
    def cost(document: str, **variables) -> float:
        return operation_cost_ms(schema._schema, parse(document), None, variables)

    tree = "strategies { edges { node { areas { code goals { number } } } } }"
    one = cost("{ " + tree + " }")
    assert cost("{ a: " + tree + " b: " + tree + " }") == 2 * one
    fragment = "fragment A on Strategy { areas { code goals { number } } }"
    assert cost("{ strategies { edges { node { ...A } } } } " + fragment) == one
    assert cost("{ strategies { edges { node { ...A ...A } } } } fragment A on Strategy { areas { code } }") == cost(
        "{ strategies { edges { node { areas { code } areas2: areas { code } } } } }"
    )
    strategies = "query($n: Int!) { strategies(first: $n) { edges { node { areas { code } } } } }"
    assert cost(strategies, n=100) == pytest.approx(5 * cost(strategies, n=20), rel=0.01)
    assert cost(strategies, n=20) == pytest.approx(cost("{ strategies { edges { node { areas { code } } } } }"))
    page = "query($n: Int!) { organizations(first: $n) { edges { node { acronym memberships { id } } } } }"
    assert cost(page, n=400) == pytest.approx(4 * cost(page, n=100), rel=0.01)
    assert cost("{ organizations(first: 10) { edges { node { acronym } } } }") < cost(
        "{ organizations { edges { node { acronym } } } }"  # the default page, 50
    )
    backward = "query($n: Int) { organizations(last: $n) { edges { node { acronym memberships { id } } } } }"
    assert cost(backward, n=400) == pytest.approx(cost(page, n=400))
    assert cost(backward, n=None) == pytest.approx(cost(page, n=50))  # neither given: the first page
    for field in ("institutions", "engagements", "representations"):  # every registry connection, counted alike
        forward = f"query($n: Int) {{ {field}(first: $n) {{ edges {{ node {{ rowId }} }} }} }}"
        assert cost(forward, n=400) == pytest.approx(4 * cost(forward, n=100), rel=0.01), field
        assert cost(forward.replace("first", "last"), n=400) == pytest.approx(cost(forward, n=400)), field
        assert cost(forward, n=None) == pytest.approx(cost(forward, n=50)), field
    backward_strategies = "query($n: Int) { strategies(last: $n) { edges { node { areas { code } } } } }"
    assert cost(backward_strategies, n=100) == pytest.approx(cost(strategies, n=100))
    tasks = "query($n: Int) { tasks(last: $n) { edges { node { institutions { code } } } } }"
    assert cost(tasks, n=None) == pytest.approx(cost(tasks, n=500))  # neither given: the first page, 500
    assert cost(tasks, n=500) > 5 * cost(tasks, n=50)
    history = 'history(indicatorId: "i", year: 2024, last: $n) { edges { node { text institution { code } } } }'
    for document in (f"query($n: Int) {{ {history} }}", f'query($n: Int) {{ asOf(at: "2025-01-01") {{ {history} }} }}'):
        assert cost(document, n=None) == pytest.approx(cost(document, n=50))  # neither given: the first page, 50
        assert cost(document, n=500) == pytest.approx(10 * cost(document, n=50), rel=0.05)


def test_every_list_of_objects_declares_its_bound():
    assert list_fields_without_bound(schema._schema) == []


@pytest.mark.parametrize(
    ("field", "sql"),
    [
        ("Strategy.areas", "SELECT count(*) FROM policy_area GROUP BY strategy_id"),
        ("PolicyArea.goals", "SELECT count(*) FROM goal GROUP BY area_id"),
        ("Goal.indicators", "SELECT count(*) FROM indicator GROUP BY goal_id"),
        ("Goal.institutions", "SELECT count(*) FROM goal_institution GROUP BY goal_id"),
        ("Indicator.targets", "SELECT count(*) FROM indicator_value WHERE role = 'target' GROUP BY indicator_id"),
        ("Indicator.baseline", "SELECT count(*) FROM indicator_value WHERE role = 'baseline' GROUP BY indicator_id"),
        ("PolicyArea.actionDirections", "SELECT count(*) FROM action_direction GROUP BY area_id"),
        ("ActionDirection.tasks", "SELECT count(*) FROM task GROUP BY action_direction_id"),
        ("Task.institutionRoles", "SELECT count(*) FROM task_institution GROUP BY task_id"),
        ("Strategy.swot", "SELECT count(*) FROM swot_factor GROUP BY strategy_id"),
        ("Organization.memberships", "SELECT count(*) FROM membership GROUP BY organization_id"),
    ],
)
async def test_declared_bounds_leave_headroom_over_the_data(session, field, sql):
    from sqlalchemy import text

    from service.core.graphql_cost import declared_items

    type_name, field_name = field.split(".")
    bound = declared_items(schema._schema.type_map[type_name].fields[field_name])
    largest = max((await session.execute(text(sql))).scalars(), default=0)
    assert 0 < largest < bound, (field, largest, bound)


async def test_an_execution_over_the_time_limit_is_cancelled_with_a_code(settings):
    app = create_app(settings.model_copy(update={"graphql_timeout_s": 0.001, "response_cache_mb": 0}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            answer = await graphql(client, BENCH_QUERIES["SERVICE_STRATEGIES"])
            assert (await client.get("/healthz")).status_code == 200
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "QUERY_TIMEOUT" and "0.001 s" in error["message"]


async def test_an_answer_over_the_size_limit_is_replaced_by_a_coded_error(settings):
    app = create_app(settings.model_copy(update={"graphql_max_answer_bytes": 10_000, "response_cache_mb": 0}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            answer = await graphql(client, BENCH_QUERIES["SERVICE_STRATEGIES"])
            small = await graphql(client, "{ institutions { edges { node { code } } } }")
    assert answer["data"] is None and answer["errors"][0]["extensions"]["code"] == "ANSWER_TOO_LARGE"
    assert "10000" in answer["errors"][0]["message"]
    assert small["data"]["institutions"]["edges"]


async def test_a_large_graphql_body_is_refused_before_anything_parses_it(client):
    response = await client.post("/graphql", json={"query": TYPENAME_BOMB})
    assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"
    assert "100000 bytes" in response.json()["detail"]

    async def chunks():
        for _ in range(50):
            yield b" " * 10_000

    streamed = await client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


async def test_graphql_cache_keys_on_the_normalised_document(client):
    query, variables = "query Codes { institutions { totalCount } }", {"run": str(time.time_ns())}
    first = await client.post("/graphql", json={"query": query, "variables": variables})
    assert first.headers["x-cache"] == "miss"
    for variant in ("query Codes {\n  institutions {\n    totalCount\n  }\n}", query + "  # any comment", query + ",,"):
        again = await client.post("/graphql", json={"query": variant, "variables": variables})
        assert again.headers["x-cache"] == "hit", variant
        assert again.json() == first.json()
    other_variables = await client.post("/graphql", json={"query": query, "variables": {"run": "other"}})
    assert other_variables.headers["x-cache"] == "miss"


async def test_cached_answers_carry_the_cors_headers_of_their_own_caller(settings):
    origins = ["https://a.example", "https://b.example"]
    app = create_app(settings.model_copy(update={"cors_origins": origins}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            url = "/api/v1/institutions?limit=7"
            a = await client.get(url, headers={"Origin": origins[0]})
            b = await client.get(url, headers={"Origin": origins[1]})
            evil = await client.get(url, headers={"Origin": "https://evil.example"})
            plain = await client.get(url)
    assert a.headers["access-control-allow-origin"] == origins[0]
    assert b.headers["x-cache"] == "hit" and b.headers["access-control-allow-origin"] == origins[1]
    assert evil.headers["x-cache"] == "hit" and "access-control-allow-origin" not in evil.headers
    for response in (a, b, evil, plain):
        assert "Origin" in response.headers["vary"]


async def test_figures_for_the_issue_against_a_served_worker(served):
    """Prints the time to refusal and a concurrent /healthz p99 for the 31× tree and the 4.8 MB document."""
    attacks = {
        "31x strategy tree": lambda c: c.post("/graphql", json={"query": COSTLY}),
        "4.8 MB __typename": lambda c: c.post("/graphql", json={"query": TYPENAME_BOMB}),
    }
    for name, send in attacks.items():
        response, elapsed, p99 = await _refusal_with_healthz(served, send)
        assert response.status_code in (200, 413)
        refused = response.status_code == 413 or response.json()["errors"][0]["extensions"]["code"]
        print(f"\n{name}: refused ({refused}) in {elapsed * 1000:.1f} ms; /healthz p99 meanwhile {p99 * 1000:.1f} ms")


@pytest.fixture
async def three_writes_a_minute(settings):
    app = create_app(settings.model_copy(update={"write_rate_per_token": 3}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield client


async def test_the_write_limit_counts_a_token_however_its_header_is_spelled(three_writes_a_minute, tokens):
    token = tokens["VRS"]
    spellings = [f"Bearer {token}", f"bearer {token}", f"Bearer  {token}", f"BEARER {token} "]
    statuses = [
        (
            await three_writes_a_minute.post("/api/v1/organizations", json={}, headers={"Authorization": spelling})
        ).status_code
        for spelling in spellings
    ]
    assert statuses == [403, 403, 403, 429]


async def test_each_graphql_mutation_field_counts_as_a_write(three_writes_a_minute, client, tokens):
    codes = [f"RATE-{n}" for n in range(5)]
    creations = " ".join(
        f'c{n}: createInstitution(input: {{code: "{code}", name: {{lv: "x"}}, kind: "agency", country: "LV"}}) '
        "{ code }"
        for n, code in enumerate(codes)
    )
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    query = {"query": f"mutation {{ {creations} }}"}
    response = await three_writes_a_minute.post("/graphql", json=query, headers=admin)
    (error,) = response.json()["errors"]  # mutations run in order; the first refused one ends the request
    assert error["extensions"]["code"] == "RATE_LIMITED" and error["path"] == ["c3"]
    # A mutation operation is all or nothing: the three that ran before the refusal are rolled back with it.
    assert response.json()["data"] is None
    created = [(await client.get(f"/api/v1/institutions/{code}")).status_code for code in codes]
    assert created == [404] * 5


async def test_the_csv_export_neutralises_formulas(client, tokens):
    import csv
    import io

    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    name = {"lv": '=HYPERLINK("https://evil.example","x")', "en": "+CMD", "lt": "-2+3+cmd|' /C calc'!A0",
            "original": "@SUM(1+1)"}  # fmt: skip
    created = await client.post(
        "/api/v1/organizations", json={"acronym": "\tTAB", "name": name, "kind": "\rforum"}, headers=admin
    )
    assert created.status_code == 201, created.text
    try:
        export = await client.get("/api/v1/organizations/export.csv")
        (row,) = [r for r in csv.DictReader(io.StringIO(export.text)) if r["organization_id"] == created.json()["id"]]
    finally:
        path = f"/api/v1/organizations/{created.json()['id']}"
        await client.delete(path, headers=await if_match(client, path, admin))
    assert row["name_lv"] == "'" + name["lv"] and row["name_en"] == "'+CMD"
    assert row["name_lt"] == "'" + name["lt"] and row["name_original"] == "'@SUM(1+1)"
    assert row["acronym"] == "'\tTAB" and row["kind"] == "'\rforum"


async def test_head_is_get_without_a_body(client):
    get = await client.get("/api/v1/institutions")
    head = await client.head("/api/v1/institutions")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"] and head.headers["content-length"] == str(len(get.content))
    assert (await client.head("/api/v1/organizations/export.csv")).status_code == 200


@pytest.mark.parametrize(
    ("path", "allow"),
    [("/graphql", "GET, HEAD, OPTIONS, POST"), ("/api/v1/institutions", "GET, HEAD, OPTIONS, POST"),
     ("/api/v1/organizations/export.csv", "GET, HEAD, OPTIONS"), ("/healthz", "GET, HEAD, OPTIONS")],
)  # fmt: skip
async def test_options_answers_with_the_real_allow(client, path, allow):
    response = await client.options(path)
    assert response.status_code == 204 and response.headers["allow"] == allow
    refused = await client.put(path)
    assert refused.status_code == 405 and refused.headers["allow"] == allow


def test_the_openapi_document_names_413_429_and_503(app):
    paths = app.openapi()["paths"]
    post = paths["/api/v1/indicators/{indicator_id}/measurements"]["post"]["responses"]
    assert {"413", "429", "503"} <= post.keys()
    assert post["429"]["content"]["application/problem+json"]
    read = paths["/api/v1/institutions"]["get"]["responses"]
    assert "503" in read and "429" not in read and "413" not in read
    assert "503" not in paths["/healthz"]["get"]["responses"]


async def test_metric_labels_stay_bounded_and_escaped(client):
    for n in range(30):
        query = f"query Q{n} {{ institutions {{ totalCount }} }}"
        await client.post("/graphql", json={"query": query, "operationName": f"Q{n}"})
    await client.post(
        "/graphql", json={"query": "{ institutions { totalCount } }", "operationName": 'x"\ninjected_total 1'}
    )
    await client.request("BREW", "/healthz")
    text = (await client.get("/metrics")).text
    assert "Q17" not in text and "injected" not in text
    assert not any(line.startswith("injected") for line in text.splitlines())
    assert 'graphql_operations_total{name="other",type="query"}' in text
    assert 'method="BREW"' not in text and 'method="other"' in text


def test_metrics_add_up_across_workers(database_url, seeded, tmp_path):
    """Two uvicorn workers: whichever answers /metrics counts the requests both of them served."""
    server, base_url = _served({"DATABASE_URL": database_url, "LOG_LEVEL": "warning",
                                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}, workers=2)  # fmt: skip
    try:
        with httpx.Client(base_url=base_url) as client:
            # New connections until both workers have served some (the second may still be starting, and the
            # kernel may hand a busy machine's connections to one): bounded in count and time.
            sent, deadline = 0, time.monotonic() + 30
            while sent < 40 or (len(list(tmp_path.glob("counter_*.db"))) < 2 and time.monotonic() < deadline):
                client.get("/healthz", headers={"Connection": "close"})
                sent += 1
            scrapes = [client.get("/metrics", headers={"Connection": "close"}).text for _ in range(4)]
    finally:
        server.terminate()
        server.wait(10)
    assert len(list(tmp_path.glob("counter_*.db"))) >= 2  # both workers wrote samples
    for text in scrapes:
        assert f'http_requests_total{{method="GET",route="/healthz",status="200"}} {sent}.0' in text
