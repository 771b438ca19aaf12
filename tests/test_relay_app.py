"""A small Relay app (tests/contracts/relay-app/src), compiled by `relay-compiler` against the committed SDL as a
frontend team's build would, and the operations it compiled sent to the service: the registry paged by its
`@connection`, one organisation and one policy area refetched by `node(id:)` (`@refetchable`), the strategy tree,
a year's revision history paged backward by its `@connection`."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.helpers import bearer, graphql
from tests.measurements.reporting_strategy import copied_strategy

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "tests" / "contracts"
RELAY_COMPILER = CONTRACTS / "node_modules" / ".bin" / "relay-compiler"
APP = CONTRACTS / "relay-app"
OPERATION_TEXT = re.compile(r'"text": ("(?:[^"\\]|\\.)*")')


@pytest.fixture(scope="module")
def operations(tmp_path_factory) -> dict[str, str]:
    """The app compiled in a scratch folder (its artifacts are build output): each query's text by its name."""
    assert RELAY_COMPILER.exists(), "relay-compiler is not installed: run `make install`"
    build = tmp_path_factory.mktemp("relay-app")
    shutil.copytree(APP / "src", build / "src")
    (build / "__generated__").mkdir()
    config = {"src": "./src", "schema": str(ROOT / "openapi" / "schema.graphql"), "language": "javascript",
              "artifactDirectory": "./__generated__"}  # fmt: skip
    (build / "relay.config.json").write_text(json.dumps(config), encoding="utf-8")
    run = subprocess.run([str(RELAY_COMPILER)], cwd=build, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    compiled = {}
    for artifact in (build / "__generated__").glob("*Query.graphql.js"):
        (text,) = OPERATION_TEXT.findall(artifact.read_text(encoding="utf-8"))
        compiled[artifact.name.removesuffix(".graphql.js")] = json.loads(text)
    return compiled


def test_relay_compiler_accepts_the_connection_the_refetchable_fragments_and_the_tree(operations):
    assert set(operations) == {
        "OrganizationListQuery",
        "OrganizationListPaginationQuery",  # @refetchable on the @connection's fragment: Relay's pagination query
        "OrganizationCardRefetchQuery",
        "StrategyTreeQuery",
        "PolicyAreaCardRefetchQuery",
        "IndicatorHistoryQuery",
        "IndicatorHistoryPaginationQuery",
    }
    assert "node(id: $id)" in operations["OrganizationCardRefetchQuery"]
    assert "node(id: $id)" in operations["PolicyAreaCardRefetchQuery"]


async def run(client, text: str, **variables) -> dict:
    body = await graphql(client, text, **variables)
    assert "errors" not in body, body["errors"]
    return body["data"]


async def test_the_relay_app_pages_the_registry_and_refetches_one_organisation(client, operations):
    first = (await run(client, operations["OrganizationListQuery"]))["organizations"]
    assert first["pageInfo"]["hasNextPage"] and first["pageInfo"]["endCursor"]
    assert len(first["edges"]) == 20 and first["totalCount"] > 20
    paging = operations["OrganizationListPaginationQuery"]
    seen = [edge["node"]["id"] for edge in first["edges"]]
    after = first["pageInfo"]["endCursor"]
    while after:
        page = (await run(client, paging, first=20, after=after))["organizations"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert len(seen) == len(set(seen)) == first["totalCount"]  # every organisation once, pages joined by cursor

    listed = first["edges"][0]["node"]
    refetched = (await run(client, operations["OrganizationCardRefetchQuery"], id=listed["id"]))["node"]
    assert refetched["__typename"] == "Organization"
    assert {key: refetched[key] for key in listed} == listed
    assert refetched["rowId"] and refetched["memberships"] is not None


async def test_the_relay_app_reads_the_strategy_tree(client, operations):
    (edge,) = (await run(client, operations["StrategyTreeQuery"]))["strategies"]["edges"]
    indicators = [i for area in edge["node"]["areas"] for goal in area["goals"] for i in goal["indicators"]]
    assert indicators and all(i["id"] and i["targets"] is not None for i in indicators)
    assert {area["kind"] for area in edge["node"]["areas"]} == {"POLICY", "HORIZONTAL"}
    area = edge["node"]["areas"][1]
    refetched = (await run(client, operations["PolicyAreaCardRefetchQuery"], id=area["id"]))["node"]
    assert refetched["__typename"] == "PolicyArea" and refetched["id"] == area["id"]
    assert refetched["code"] == area["code"] and refetched["actionDirections"] == area["actionDirections"]


@pytest.fixture(scope="module")
async def revised(sessionmaker, app, tokens):
    """Indicator 1.1.3 of a strategy of its own, its 2024 value posted and corrected twice: (id, REST history)."""
    transport = httpx.ASGITransport(app=app)
    async with (
        sessionmaker() as session,
        copied_strategy(session, "relay-app-history") as key,
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):
        indicators = (await http.get("/api/v1/indicators", params={"strategy": key, "limit": 500})).json()["items"]
        (ind,) = [i["id"] for i in indicators if i["code"] == "1.1.3"]
        headers = bearer(tokens["VP"])
        for value in ("20", "21", "22"):
            written = await http.post(f"/api/v1/indicators/{ind}/measurements", json={"year": 2024, "value": value},
                                      headers=headers)  # fmt: skip
            assert written.status_code == 201, written.text
            headers = bearer(tokens["VP"]) | {"If-Match": written.headers["etag"]}
        history = await http.get(f"/api/v1/indicators/{ind}/measurements/2024/history")
        yield ind, history.json()["items"]


async def test_the_relay_app_pages_a_years_history_back_from_the_latest_revision(client, operations, revised):
    ind, rest = revised
    latest = (await run(client, operations["IndicatorHistoryQuery"], indicatorId=ind, year=2024))["history"]
    assert [edge["node"]["text"] for edge in latest["edges"]] == ["21", "22"] and latest["totalCount"] == 3
    assert latest["pageInfo"]["hasPreviousPage"] and latest["pageInfo"]["startCursor"]
    earlier = await run(client, operations["IndicatorHistoryPaginationQuery"], indicatorId=ind, year=2024, last=2,
                        before=latest["pageInfo"]["startCursor"])  # fmt: skip
    page = earlier["history"]
    assert not page["pageInfo"]["hasPreviousPage"]
    walked = [edge["node"] for edge in page["edges"] + latest["edges"]]
    assert [(n["revision"], n["text"], n["previousText"]) for n in walked] == [
        (r["revision"], r["text"], r["previous_text"]) for r in rest
    ]
