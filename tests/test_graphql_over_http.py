"""GraphQL over HTTP (the GraphQL Foundation's spec), checked by its own audit against the served app."""

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import assert_problem

CONTRACT_LINT = Path(__file__).resolve().parent / "contracts"
AUDIT = CONTRACT_LINT / "graphql_http_audit.mjs"


def test_graphql_http_audit_passes_without_warnings(served_url):
    """Every audit of graphql-http's `serverAudits` (MUST, SHOULD and MAY) passes against /graphql."""
    installed = (CONTRACT_LINT / "node_modules" / "graphql-http").exists()
    assert installed, "graphql-http is not installed: run `make install`"
    run = subprocess.run(["node", str(AUDIT), f"{served_url}/graphql"], cwd=CONTRACT_LINT, capture_output=True,
                         text=True, timeout=120, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    print("graphql-http audit:", dict(Counter(r["status"] for r in results)))
    failed = [r for r in results if r["status"] != "ok"]
    assert results, run.stdout
    assert not failed, "\n".join(f"{r['status']} {r['name']}: {r['reason']} {r['response']}" for r in failed)


GRAPHQL_RESPONSE = {"Accept": "application/graphql-response+json"}
INSTITUTION = "query Institution($code: String!) { institution(code: $code) { code } }"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ institution(code: "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": INSTITUTION, "variables": {"code": 5}}, "BAD_USER_INPUT"),
        ({"query": INSTITUTION, "variables": {}}, "BAD_USER_INPUT"),
    ],
    ids=["parse", "validation", "variable-type", "variable-missing"],
)
async def test_a_request_error_is_400_without_data_for_a_graphql_response_client(client, body, code):
    response = await client.post("/graphql", json=body, headers=GRAPHQL_RESPONSE)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/graphql-response+json"
    answer = response.json()
    assert "data" not in answer and answer["errors"][0]["extensions"]["code"] == code, answer


async def test_a_json_client_keeps_200_with_data_null_and_learns_a_syntax_error_apart(client):
    for accept in ({}, {"Accept": "application/json"}, {"Accept": "*/*"}):
        response = await client.post("/graphql", json={"query": "{ institution(code: "}, headers=accept)
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        assert response.json()["data"] is None
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    invalid = (await client.post("/graphql", json={"query": "{ noSuchField }"})).json()
    assert invalid["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_field_error_still_answers_200_with_data_for_a_graphql_response_client(client):
    response = await client.post(
        "/graphql", json={"query": INSTITUTION, "variables": {"code": "NO-SUCH"}}, headers=GRAPHQL_RESPONSE
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/graphql-response+json"
    assert "data" in response.json()


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_a_post_that_is_not_json_is_415_and_runs_nothing(client, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/graphql", content=b'{"query": "{ __typename }"}', headers=headers)
    assert_problem(response, 415, "Content-Type: application/json")


async def test_get_runs_a_query_from_the_cache_and_refuses_a_mutation_with_405(client):
    params = {"query": INSTITUTION, "variables": json.dumps({"code": "VP"}), "operationName": "Institution"}
    first = await client.get("/graphql", params=params)
    again = await client.get("/graphql", params=params)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == {"data": {"institution": {"code": "VP"}}}
    assert again.headers["x-cache"] == "hit"
    # Another Accept is another answer: the cache keeps them apart.
    negotiated = await client.get("/graphql", params=params, headers=GRAPHQL_RESPONSE)
    assert negotiated.headers["content-type"] == "application/graphql-response+json"
    assert "accept" in negotiated.headers["vary"].lower()
    mutation = await client.get("/graphql", params={"query": "mutation { __typename }"})
    assert_problem(mutation, 405, "POST")
    assert mutation.headers["allow"] == "POST"


async def test_a_query_over_get_is_cacheable_over_http_with_an_etag(client):
    """A browser, a CDN or Apollo's GET link revalidates it: an ETag, `no-cache`, and 304 while the answer holds."""
    params = {"query": 'query Codes { institution(code: "VRS") { code name { lv } } }'}
    first = await client.get("/graphql", params=params)
    etag = first.headers["etag"]
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
    for attempt in range(2):  # computed, then from the response cache
        held = await client.get("/graphql", params=params, headers={"If-None-Match": etag})
        assert (held.status_code, held.content, held.headers["etag"]) == (304, b"", etag), attempt
    other = await client.get("/graphql", params=params, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.json() == first.json()
    posted = await client.post("/graphql", json=params)
    assert "etag" not in posted.headers  # a POST is not an HTTP-cacheable read


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_subscription_over_http_is_sent_to_the_websocket(client, method):
    document = {"query": "subscription { changes { resumeCursor } }"}
    if method == "GET":
        response = await client.get("/graphql", params=document)
    else:
        response = await client.post("/graphql", json=document)
    assert_problem(response, 400, "WebSocket")


@pytest.mark.parametrize("body", [{"query": "{ __typename }", "operationName": {"a": 1}},
                                  {"query": "{ __typename }", "extensions": "x"}])  # fmt: skip
async def test_a_malformed_operation_name_or_extensions_is_400_even_after_the_same_query_was_cached(client, body):
    await client.post("/graphql", json={"query": "{ __typename }"})
    assert_problem(await client.post("/graphql", json=body), 400, "must be")
