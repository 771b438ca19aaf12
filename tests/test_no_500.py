"""Inputs that used to end in a 500: each is now a problem the client can act on."""

import json

import httpx
import pytest

from tests.helpers import assert_problem, bearer, indicator_id


@pytest.mark.parametrize("year", [2**31, 10**30])
async def test_a_year_beyond_any_calendar_in_a_path_is_422(client, tokens, year):
    indicator = await indicator_id(client, "1.1.1")
    history = await client.get(f"/api/v1/indicators/{indicator}/measurements/{year}/history")
    approve = await client.post(
        f"/api/v1/indicators/{indicator}/measurements/{year}/approve", headers=bearer(tokens["admin"])
    )
    for response in (history, approve):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "year" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "parameter", "moment"),
    [
        ("/api/v1/changes", "since", "0001-01-01T00:00:00+14:00"),
        ("/api/v1/organizations", "updated_since", "9999-12-31T23:59:59-14:00"),
    ],
)
async def test_a_timestamp_outside_the_calendar_in_utc_is_422(client, path, parameter, moment):
    response = await client.get(path, params={parameter: moment})
    assert response.status_code == 422, response.text
    assert "outside years 1-9999" in response.json()["detail"]
    assert response.headers["x-request-id"]


RECORD = "mutation($i: RecordMeasurementInput!) { recordMeasurement(input: $i) { revision text } }"
NOT_FINITE = ["NaN", "Infinity", "-Infinity", "1e400"]


async def _post_json(client, url: str, body: str, token: str | None = None):
    headers = {"content-type": "application/json"} | (bearer(token) if token else {})
    return await client.post(url, content=body, headers=headers)


@pytest.mark.parametrize("number", NOT_FINITE)
async def test_a_value_that_is_not_a_finite_number_is_422_naming_the_field_and_the_forms(client, tokens, number):
    """Python's JSON reader accepts NaN and Infinity and reads 1e400 as Infinity; none is an actual."""
    url = f"/api/v1/indicators/{await indicator_id(client, '3.2.1')}/measurements"
    for body in (f'{{"year": 2023, "value": {number}}}', f'{{"year": 2023, "value": [{number}, 1]}}'):
        response = await _post_json(client, url, body, tokens["VP"])
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["errors"][0]["field"] == "body.value"
        assert "NaN and Infinity are not values" in problem["detail"] and "`29,72`" in problem["detail"]
    year = await _post_json(client, url, f'{{"year": {number}, "value": "1500"}}', tokens["VP"])
    assert year.status_code == 422 and year.json()["errors"][0]["field"] == "body.year", year.text
    history = await client.get(url)
    assert all(item["current"]["text"] not in ("NaN", "inf") for item in history.json()["items"])


@pytest.mark.parametrize("number", NOT_FINITE)
async def test_a_graphql_value_that_is_not_a_finite_number_is_bad_user_input(client, tokens, number):
    indicator = await indicator_id(client, "3.2.1")
    variables = [f'{{"indicatorId": "{indicator}", "year": 2023, "number": {number}}}',
                 f'{{"indicatorId": "{indicator}", "year": 2023, "pair": [{number}, 1]}}',
                 f'{{"indicatorId": "{indicator}", "year": 2023, "number": "{number}"}}']  # fmt: skip
    bodies = [f'{{"query": {json.dumps(RECORD)}, "variables": {{"i": {v}}}}}' for v in variables]
    # A literal 1e400 is a Float literal GraphQL reads as infinity, and passes it on.
    literal = (
        f'mutation {{ recordMeasurement(input: {{indicatorId: "{indicator}", year: 2023, number: 1e400}}) '
        "{ revision } }"
    )
    bodies.append(json.dumps({"query": literal}))
    for body in bodies:
        response = await _post_json(client, "/graphql", body, tokens["VP"])
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["data"] is None
        (error,) = answer["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", answer
    assert "number" in error["message"] or "value" in error["message"]
    assert "NaN and Infinity are not values" in error["message"]  # the literal: the REST rule, its forms named
    refused_variable = (await _post_json(client, "/graphql", bodies[0], tokens["VP"])).json()["errors"][0]
    assert ".number" in refused_variable["message"] and "finite number" in refused_variable["message"]


@pytest.mark.parametrize(
    "query",
    [
        "{ progressSummary(year: 2147483647) { year } }",
        "{ progressSummary(year: -2147483648) { year } }",
        "{ organizations(first: 2147483647) { totalCount } }",
        "{ organizations(first: -1) { totalCount } }",
        "{ changes(first: 0) { resumeCursor } }",
        "{ progressSummary(year: 9999999999) { year } }",
        "{ organizations(first: 1e400) { totalCount } }",
    ],
)
async def test_an_integer_argument_at_or_past_the_edges_of_int_is_a_coded_error(client, query):
    answer = (await client.post("/graphql", json={"query": query})).json()
    for error in answer.get("errors", []):
        assert error["extensions"]["code"] in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"), answer


DEEP = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize(
    "body",
    [
        '{"query": "query($a: [[Int]]) { __typename }", "variables": {"a": ' + DEEP + "}}",
        '{"query": "{ __typename }", "variables": {"a": ' + "[" * 100 + "]" * 100 + "}}",
        json.dumps({"query": "{ __typename }", "variables": {"a": json.loads("[" * 900 + "]" * 900)}}),
        json.dumps({"query": "{ indicators(filter: " + DEEP + ") { edges { node { id } } } }"}),
        json.dumps({"query": "{ strategies " * 1000 + "{ key }" + "}" * 1000}),
        json.dumps({"query": "{" * 1000 + "__typename" + "}" * 1000}),
    ],
    ids=["variables-1000", "variables-100", "variables-900", "list-literal", "selections", "braces"],
)
async def test_a_graphql_body_nested_a_thousand_deep_is_refused_with_a_reason(client, body):
    response = await _post_json(client, "/graphql", body)
    assert response.status_code in (200, 400), response.text
    assert response.headers["x-request-id"] and response.headers["x-content-type-options"] == "nosniff"
    if response.status_code == 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert "nested" in response.json()["detail"]
    else:
        (error, *_) = response.json()["errors"]
        assert error["extensions"]["code"] in ("GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"), response.text


async def test_a_rest_body_nested_a_thousand_deep_is_400_with_a_reason(client, tokens):
    url = f"/api/v1/indicators/{await indicator_id(client, '3.2.1')}/measurements"
    response = await _post_json(client, url, '{"year": 2023, "value": ' + DEEP + "}", tokens["VP"])
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "nested too deeply" in response.json()["detail"]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('{ institution(code: "V\\u0000P") { code } }', {}),
        ("query($c: String!) { institution(code: $c) { code } }", {"c": "V\x00P"}),
        ('{ organization(acronym: "O\\u0000") { id } }', {}),
        ("query($f: OrganizationFilter) { organizations(filter: $f) { totalCount } }", {"f": {"q": "a\x00b"}}),
        ("query($a: String) { changes(after: $a) { resumeCursor } }", {"a": "\x00"}),
        (RECORD, {"i": {"indicatorId": "INDICATOR", "year": 2023, "value": "1500", "comment": "a\x00b"}}),
        (RECORD, {"i": {"indicatorId": "INDICATOR", "year": 2023, "value": "1500", "institution": "V\x00P"}}),
        (RECORD, {"i": {"indicatorId": "INDICATOR", "year": 2023, "value": "1500", "idempotencyKey": "k\x00"}}),
        (RECORD, {"i": {"indicatorId": "\x00", "year": 2023, "value": "1500"}}),
    ],
)
async def test_a_nul_byte_in_a_graphql_argument_is_bad_user_input(client, tokens, query, variables):
    if "i" in variables and variables["i"]["indicatorId"] == "INDICATOR":
        variables["i"]["indicatorId"] = await indicator_id(client, "3.2.1")
    body = {"query": query, "variables": variables}
    response = await client.post("/graphql", json=body, headers=bearer(tokens["VP"]))
    assert response.status_code == 200, response.text
    errors = response.json().get("errors", [])
    assert errors, response.text  # nothing holding a NUL byte is found or stored
    assert {e["extensions"]["code"] for e in errors} <= {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}, errors


def _assert_carries_the_common_headers(response) -> None:
    assert response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["strict-transport-security"]


async def test_every_kind_of_error_answer_carries_the_security_headers_and_request_id(client, tokens):
    indicator = await indicator_id(client, "3.2.1")
    answers = {
        413: await _post_json(client, "/graphql", "{" + " " * 200_000 + "}"),
        422: await client.get("/api/v1/organizations", params={"limit": "many"}),
        404: await client.get(f"/api/v1/indicators/{'0' * 8}-0000-0000-0000-{'0' * 12}"),
        400: await _post_json(client, f"/api/v1/indicators/{indicator}/measurements", DEEP, tokens["VP"]),
        200: await client.post("/graphql", json={"query": "{ nope }"}),
    }
    for status, response in answers.items():
        assert response.status_code == status, (status, response.text)
        _assert_carries_the_common_headers(response)
    assert answers[200].json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_an_unexpected_error_is_a_500_problem_with_the_headers_not_a_reset_connection(settings):
    """What no handler knows still leaves through RequestMiddleware: a problem with the request id to quote."""
    from service.app import create_app

    app = create_app(settings)

    @app.get("/api/v1/broken-for-the-test")
    async def broken() -> None:
        raise RuntimeError("a bug")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/api/v1/broken-for-the-test", headers={"X-Request-ID": "trace-me-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "An unexpected error occurred; it has been logged."
    assert response.headers["x-request-id"] == "trace-me-1"
    _assert_carries_the_common_headers(response)


async def test_an_organisation_named_only_in_its_original_language_is_created(client, tokens):
    """Found by the deep fuzz: the natural key read `en`, and a name with only `original` was a 500."""
    body = {"kind": "association", "name": {"en": None, "original": "Comité du test no-500"}}
    created = await client.post("/api/v1/organizations", json=body, headers=bearer(tokens["admin"]))
    assert created.status_code == 201, created.text
    assert created.json()["name"]["original"] == "Comité du test no-500"
    again = await client.post("/api/v1/organizations", json=body, headers=bearer(tokens["admin"]))
    assert again.status_code == 409, again.text


@pytest.mark.parametrize("path", ["/api/v1/institutions/", "/api/v1/institutions/%2F", "/api/v1/organizations/"])
async def test_a_path_with_a_trailing_slash_is_a_404_problem_not_a_redirect(client, path):
    """The fuzzer's finding: Starlette answered 307 (undocumented) to send the client to the path without it."""
    response = await client.get(path)
    assert_problem(response, 404)
