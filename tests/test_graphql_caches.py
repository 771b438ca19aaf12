"""A repeated GraphQL document is parsed and validated once; the caches never change an answer."""

import uuid

from sqlalchemy import text
from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.extensions.validation_cache import _get_validate_cache

from service.graphql import GRAPHQL_DOCUMENT_CACHE

INSTITUTION = "query($code: String!) { institution(code: $code) { code } }"


async def _post(client, query: str, headers: dict | None = None, **variables) -> dict:
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_repeated_document_is_parsed_and_validated_once(client, session):
    document = INSTITUTION + f"\n# {uuid.uuid4()}"  # a document no earlier test sent
    parsed, validated = _get_parse_cache(GRAPHQL_DOCUMENT_CACHE), _get_validate_cache(GRAPHQL_DOCUMENT_CACHE)
    await _post(client, document, code="VP")
    parse_hits, validate_hits = parsed.cache_info().hits, validated.cache_info().hits
    # A transaction commits in between, so the response cache (keyed on the data's snapshot) cannot answer
    # and the same request executes again.
    await session.execute(text("SELECT pg_current_xact_id()"))
    await session.commit()
    await _post(client, document, code="VP")
    assert parsed.cache_info().hits == parse_hits + 1
    assert validated.cache_info().hits == validate_hits + 1


async def test_the_same_document_answers_each_request_with_its_own_variables(client):
    document = INSTITUTION + f"\n# {uuid.uuid4()}"
    first = await _post(client, document, code="VP")
    second = await _post(client, document, code="VRS")
    assert first["data"]["institution"]["code"] == "VP"
    assert second["data"]["institution"]["code"] == "VRS"


async def test_a_refused_document_stays_refused_when_repeated(client):
    too_many_aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }" + f"\n# {uuid.uuid4()}"
    for _ in range(2):
        answer = await _post(client, too_many_aliases)
        assert answer.get("data") is None
        assert answer["errors"][0].get("extensions", {}).get("code") == "GRAPHQL_VALIDATION_FAILED", answer


async def test_a_syntax_error_is_coded_on_every_repeat(client):
    broken = "{ institution(code: " + f"\n# {uuid.uuid4()}"
    for _ in range(2):
        answer = await _post(client, broken)
        assert answer["errors"][0].get("extensions", {}).get("code") == "GRAPHQL_PARSE_FAILED", answer


async def test_text_bounds_are_checked_for_each_request_s_variables(client):
    document = INSTITUTION + f"\n# {uuid.uuid4()}"
    assert (await _post(client, document, code="VP"))["data"]["institution"]["code"] == "VP"
    refused = await _post(client, document, code="V" * 5000)
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", refused


async def test_the_cost_budget_still_reads_first_from_each_request(client):
    page = "query($n: Int!) { organizations(first: $n) { edges { node { id } } } }" + f"\n# {uuid.uuid4()}"
    small = await _post(client, page, n=5)
    assert len(small["data"]["organizations"]["edges"]) == 5
    huge = await _post(client, page, n=10**9)
    assert huge.get("data") is None and huge["errors"], huge
