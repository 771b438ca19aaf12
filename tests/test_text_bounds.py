"""Every text a client sends has a bound, stated in the contract, enforced with a 422 (REST) or BAD_USER_INPUT
(GraphQL) naming the field; an error detail quotes at most a short prefix of what was sent."""

from service.core.errors import QUOTE_MAX
from service.core.i18n import NAME_MAX
from tests.helpers import assert_problem, bearer, graphql

LONG_NAME = "Ā" * 3000  # two bytes each in UTF-8: past PostgreSQL's btree row limit as a sort key


def _fields(response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


async def test_a_3000_character_name_is_a_422_naming_the_field(client, tokens):
    admin = bearer(tokens["admin"])
    created = await client.post(
        "/api/v1/organizations", json={"acronym": "LONGNAME", "kind": "x", "name": {"en": LONG_NAME}}, headers=admin
    )
    assert_problem(created, 422, "name.en", str(NAME_MAX))
    assert _fields(created) == ["body.name.en"]
    assert (await client.get("/api/v1/organizations", params={"q": "LONGNAME"})).json()["items"] == []

    institution = await client.post(
        "/api/v1/institutions",
        json={"code": "LONG", "kind": "x", "country": "LV", "name": {"lv": LONG_NAME}},
        headers=admin,
    )
    assert_problem(institution, 422, "name.lv")


async def test_a_name_at_the_bound_is_stored(client, tokens):
    name = "Ā" * NAME_MAX
    created = await client.post(
        "/api/v1/organizations",
        json={"acronym": "ATBOUND", "kind": "x", "name": {"en": name}},
        headers=bearer(tokens["admin"]),
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"]["en"] == name


async def test_graphql_refuses_a_3000_character_name_naming_the_field(client, tokens):
    answer = (
        await client.post(
            "/graphql",
            json={
                "query": "mutation($i: OrganizationInput!) { createOrganization(input: $i) { id } }",
                "variables": {"i": {"acronym": "LONGGQL", "kind": "x", "name": {"en": LONG_NAME}}},
            },
            headers=bearer(tokens["admin"]),
        )
    ).json()
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "input.name.en"
    assert "input.name.en" in error["message"]
    assert answer.get("data") is None  # refused before anything ran


async def test_a_name_over_the_rest_bound_but_under_the_graphql_ceiling_uses_the_rest_rule(client, tokens):
    answer = (
        await client.post(
            "/graphql",
            json={
                "query": "mutation($i: OrganizationInput!) { createOrganization(input: $i) { id } }",
                "variables": {"i": {"acronym": "MIDGQL", "kind": "x", "name": {"en": "a" * (NAME_MAX + 1)}}},
            },
            headers=bearer(tokens["admin"]),
        )
    ).json()
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "name.en" in error["message"] and str(NAME_MAX) in error["message"]


async def test_a_long_search_text_is_refused_in_rest_and_graphql(client):
    long_q = "q" * 3000
    response = await client.get("/api/v1/organizations", params={"q": long_q})
    assert_problem(response, 422, "query.q")
    assert _fields(response) == ["query.q"]

    answer = await graphql(client, "query($q: String) { organizations(filter: {q: $q}) { totalCount } }", q=long_q)
    [error] = answer["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter.q", "max_length": 200}

    literal = await graphql(client, '{ organizations(filter: {q: "' + long_q + '"}) { totalCount } }')
    assert literal["errors"][0]["extensions"]["field"] == "filter.q"

    within = await graphql(client, "query($q: String) { organizations(filter: {q: $q}) { totalCount } }", q="q" * 200)
    assert within["data"]["organizations"]["totalCount"] == 0


async def test_graphql_top_level_text_arguments_are_bounded(client):
    answer = await graphql(client, "query($a: String) { organization(acronym: $a) { id } }", a="A" * 10_000)
    assert answer["errors"][0]["extensions"]["field"] == "acronym"
    assert answer.get("data") is None


async def test_a_detail_quotes_only_a_prefix_of_a_10kb_input(client, tokens):
    """A CSV cell has no bound of its own (the file has one): its error quotes the first characters only."""
    huge = "9" * 10_000
    csv = f"indicator_code,year,institution,value,comment\n1.1.1,{huge},,80%,x\n"
    response = await client.post(
        "/api/v1/measurements/import", content=csv.encode(), headers=bearer(tokens["VP"]) | {"content-type": "text/csv"}
    )
    assert response.status_code == 422, response.text[:300]
    assert "9" * QUOTE_MAX + "…" in response.text
    assert "9" * (QUOTE_MAX + 1) not in response.text
    assert len(response.content) < 2_000


async def test_graphql_detail_quotes_only_a_prefix(client):
    answer = await graphql(client, "query($i: ID!) { indicator(id: $i) { code } }", i="n" + "o" * 150)
    detail = answer["errors"][0]["message"]
    assert "n" + "o" * (QUOTE_MAX - 1) + "…" in detail
    assert "o" * QUOTE_MAX not in detail


async def test_rest_404_quotes_only_a_prefix(client):
    response = await client.get("/api/v1/institutions/" + "W" * 64)
    assert_problem(response, 404, "W" * QUOTE_MAX + "…")
    assert "W" * (QUOTE_MAX + 1) not in response.text


async def test_the_contract_states_the_bounds(app):
    document = app.openapi()
    schemas = document["components"]["schemas"]
    name = schemas["LocalizedName"]["properties"]["en"]["anyOf"][0]
    assert name["maxLength"] == NAME_MAX
    q = next(p for p in document["paths"]["/api/v1/organizations"]["get"]["parameters"] if p["name"] == "q")
    assert q["schema"]["anyOf"][0]["maxLength"] == 200
