"""A small Relay app (tests/contracts/relay-app/src), compiled by `relay-compiler` against the committed SDL as a
frontend team's build would, and the operations it compiled sent to the service: the registry paged by its
`@connection`, one organisation refetched by `node(id:)` (`@refetchable`), the strategy tree."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import graphql

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
    }
    assert "node(id: $id)" in operations["OrganizationCardRefetchQuery"]


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
