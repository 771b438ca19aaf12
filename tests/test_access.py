"""Every write operation, REST and GraphQL, against no token, a revoked token, the wrong agency and an admin.

The operations are read from the app's own route table and schema: a new write operation that is
not listed here fails this suite until its access rule is stated.
"""

import uuid

import pytest

from service.app import create_app
from service.graphql import schema
from tests.helpers import bearer

ZERO = str(uuid.UUID(int=0))

# Path → who may call it: "admin" only, or "agency" (an agency within its own indicators, and admins).
REST_WRITES = {
    ("POST", "/api/v1/institutions"): "admin",
    ("PATCH", "/api/v1/institutions/{code}"): "admin",
    ("DELETE", "/api/v1/institutions/{code}"): "admin",
    ("POST", "/api/v1/organizations"): "admin",
    ("PATCH", "/api/v1/organizations/{organization_id}"): "admin",
    ("DELETE", "/api/v1/organizations/{organization_id}"): "admin",
    ("POST", "/api/v1/organizations/{organization_id}/memberships"): "admin",
    ("PATCH", "/api/v1/memberships/{membership_id}"): "admin",
    ("DELETE", "/api/v1/memberships/{membership_id}"): "admin",
    ("POST", "/api/v1/strategies"): "admin",
    ("PATCH", "/api/v1/strategies/{strategy_id}"): "admin",
    ("DELETE", "/api/v1/strategies/{strategy_id}"): "admin",
    ("PATCH", "/api/v1/indicators/{indicator_id}"): "admin",
    ("PATCH", "/api/v1/tasks/{task_id}"): "admin",
    ("POST", "/api/v1/indicators/{indicator_id}/measurements"): "agency",
    ("POST", "/api/v1/indicators/{indicator_id}/measurements/{year}/approve"): "admin",
    ("POST", "/api/v1/indicators/{indicator_id}/measurements/{year}/return"): "admin",
    ("POST", "/api/v1/indicators/{indicator_id}/assessments"): "admin",
    ("POST", "/api/v1/measurements/import"): "agency",
    ("PUT", "/api/v1/reporting/{year}/dates"): "admin",
    ("POST", "/api/v1/reporting/{year}/close"): "admin",
    ("POST", "/api/v1/reporting/{year}/reopen"): "admin",
    ("POST", "/api/v1/reporting/{year}/exceptions"): "admin",
    ("POST", "/api/v1/webhooks"): "admin",
    ("POST", "/api/v1/webhooks/{webhook_id}/pause"): "admin",
    ("POST", "/api/v1/webhooks/{webhook_id}/resume"): "admin",
    ("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret"): "admin",
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): "admin",
    ("POST", "/api/v1/webhooks/{webhook_id}/redeliver"): "admin",
}
GRAPHQL_WRITES = {
    "recordMeasurement": f'recordMeasurement(input: {{indicatorId: "{ZERO}", year: 2023, value: "1"}}) {{ id }}',
    "approveMeasurement": f'approveMeasurement(indicatorId: "{ZERO}", year: 2023) {{ id }}',
    "returnMeasurement": f'returnMeasurement(indicatorId: "{ZERO}", year: 2023, comment: "x") {{ id }}',
    "setTaskRoles": f'setTaskRoles(taskId: "{ZERO}", roles: []) {{ id }}',
    "updateIndicator": f'updateIndicator(id: "{ZERO}", input: {{unit: "x"}}) {{ id }}',
    # Inputs of the right shape, with values the data's rules refuse: the admin's call writes nothing.
    "createInstitution": 'createInstitution(input: {code: "X", name: {en: "x"}, kind: "x", country: "E"}) { id }',
    "updateInstitution": 'updateInstitution(code: "VP", input: {}) { id }',
    "deleteInstitution": 'deleteInstitution(code: "NOPE")',
    "createOrganization": 'createOrganization(input: {name: {en: "x"}, kind: ""}) { id }',
    "updateOrganization": f'updateOrganization(id: "{ZERO}", input: {{}}) {{ id }}',
    "deleteOrganization": f'deleteOrganization(id: "{ZERO}")',
    "createMembership": f'createMembership(organizationId: "{ZERO}", input: {{member: "VP", relation: MEMBER}}) {{id}}',
    "updateMembership": f'updateMembership(id: "{ZERO}", input: {{}}) {{ id }}',
    "deleteMembership": f'deleteMembership(id: "{ZERO}")',
}


def _writes() -> list[tuple[str, str]]:
    """Every write operation the app serves, from its own OpenAPI document (built from its routes)."""
    paths = create_app().openapi()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method in {"post", "put", "patch", "delete"}
    )


def test_every_write_route_has_a_stated_access_rule():
    assert set(_writes()) == set(REST_WRITES)


def test_every_mutation_has_a_stated_access_rule():
    mutation = schema._schema.mutation_type
    assert set(mutation.fields) == set(GRAPHQL_WRITES)


def _url(path: str) -> str:
    # A reporting year no strategy has: the admin's call gets through to a 404 instead of closing a seeded year.
    year = 1999 if path.startswith("/api/v1/reporting/") else 2023
    return path.format(code="VP", organization_id=ZERO, membership_id=ZERO, strategy_id=ZERO, indicator_id=ZERO,
                       task_id=ZERO, webhook_id=ZERO, year=year)  # fmt: skip


@pytest.mark.parametrize(("method", "path"), sorted(REST_WRITES))
async def test_rest_writes_refuse_missing_revoked_and_unentitled_tokens(client, tokens, method, path):
    url = _url(path)
    for headers, status in [({}, 401), (bearer(tokens["revoked"]), 401), (bearer("iem_forged"), 401)]:
        response = await client.request(method, url, json={}, headers=headers)
        assert response.status_code == status, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    agency = await client.request(method, url, json={}, headers=bearer(tokens["VRS"]))
    if REST_WRITES[(method, path)] == "admin":
        assert agency.status_code == 403, (method, path, agency.text)
    else:
        assert agency.status_code != 401 and agency.status_code != 403  # entitled to try; the rules decide per row
    admin = await client.request(method, url, json={}, headers=bearer(tokens["admin"]))
    assert admin.status_code not in (401, 403), (method, path, admin.text)
    assert admin.status_code < 500


async def test_agency_writes_are_refused_outside_the_agencys_indicators(client, tokens):
    from tests.helpers import indicator_id

    vp_only = await indicator_id(client, "1.1.1")
    refused = await client.post(
        f"/api/v1/indicators/{vp_only}/measurements", json={"year": 2024, "value": "80%"}, headers=bearer(tokens["VRS"])
    )
    assert refused.status_code == 403
    csv = "indicator_code,year,institution,value,comment\n1.1.1,2024,,80%,\n"
    imported = await client.post(
        "/api/v1/measurements/import",
        content=csv.encode(),
        headers=bearer(tokens["VRS"]) | {"content-type": "text/csv"},
    )
    assert imported.status_code == 422 and "not involved" in imported.json()["errors"][0]["reason"]


@pytest.mark.parametrize("name", sorted(GRAPHQL_WRITES))
async def test_graphql_mutations_refuse_missing_revoked_and_unentitled_tokens(client, tokens, name):
    query = "mutation { " + GRAPHQL_WRITES[name] + " }"
    for headers, code in [({}, "UNAUTHENTICATED"), (bearer(tokens["revoked"]), "UNAUTHENTICATED")]:
        body = (await client.post("/graphql", json={"query": query}, headers=headers)).json()
        assert body["errors"][0]["extensions"]["code"] == code, body
    agency = (await client.post("/graphql", json={"query": query}, headers=bearer(tokens["VRS"]))).json()
    admin = (await client.post("/graphql", json={"query": query}, headers=bearer(tokens["admin"]))).json()
    for error in admin.get("errors", []):  # an admin gets through; what remains are the data's own rules
        assert error["extensions"]["code"] not in ("UNAUTHENTICATED", "FORBIDDEN", "INTERNAL_SERVER_ERROR"), admin
    if name != "recordMeasurement":
        assert agency["errors"][0]["extensions"]["code"] == "FORBIDDEN", agency
