"""Admin edits of the registry and the strategy: validation, audit, tombstones and the changes feed."""

import datetime as dt

from tests.helpers import bearer, graphql, if_match, indicator_id

PROBLEM = "application/problem+json"


async def _changes(client, since: str) -> list[tuple[str, str, str]]:
    items, cursor = [], None
    while True:
        params = {"since": since, "limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/changes", params=params)).json()
        items += [(c["entity"], c["id"], c["change"]) for c in page["items"]]
        if not (cursor := page["next_cursor"]):
            return items


async def test_organisation_lifecycle_reaches_the_changes_feed(client, tokens):
    admin = bearer(tokens["admin"])
    since = dt.datetime.now(dt.UTC).isoformat()
    created = await client.post(
        "/api/v1/organizations",
        json={"acronym": "EUAA", "kind": "eu_agency", "established": "2022-01",
              "name": {"en": "European Union Agency for Asylum", "lv": "Eiropas Savienības Patvēruma aģentūra"}},
        headers=admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    org = created.json()
    assert created.headers["location"] == f"/api/v1/organizations/{org['id']}"
    assert (await client.get("/api/v1/organizations", params={"q": "patveruma"})).json()["items"][0][
        "acronym"
    ] == "EUAA"

    duplicate = await client.post(
        "/api/v1/organizations", json={"acronym": "EUAA", "name": {"en": "x"}, "kind": "x"}, headers=admin
    )
    assert duplicate.status_code == 409 and duplicate.headers["content-type"] == PROBLEM

    membership = await client.post(
        f"/api/v1/organizations/{org['id']}/memberships",
        json={"member": "PMLP", "relation": "participant", "since": "2022", "coordinator": "IeM",
              "events": [{"date": "2022-01-19", "kind": "joined"}]},
        headers=admin,
    )  # fmt: skip
    assert membership.status_code == 201, membership.text
    assert membership.json()["since_precision"] == "year"
    bad_date = await client.patch(
        f"/api/v1/memberships/{membership.json()['id']}",
        json={"since": "2022-13"},
        headers=admin | {"If-Match": membership.headers["etag"]},
    )
    assert bad_date.status_code == 422 and "since" in bad_date.json()["detail"]
    org_path = f"/api/v1/organizations/{org['id']}"
    patched = await client.patch(
        org_path, json={"aliases": ["EUAA", "ex-EASO"]}, headers=await if_match(client, org_path, admin)
    )
    assert patched.json()["aliases"] == ["EUAA", "ex-EASO"]

    deleted = await client.delete(org_path, headers=admin | {"If-Match": patched.headers["etag"]})
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/organizations/{org['id']}")).status_code == 404

    changes = await _changes(client, since)
    assert ("organization", org["id"], "delete") in changes
    assert ("membership", membership.json()["id"], "delete") in changes
    assert ("organization", org["id"], "upsert") not in changes  # the row is gone; its deletion speaks for it

    audit = (await client.get("/api/v1/audit", params={"entity_id": org["id"]}, headers=admin)).json()["items"]
    assert [e["action"] for e in audit] == ["create", "update", "delete"]
    assert audit[1]["before"]["aliases"] == [] and audit[1]["after"]["aliases"] == ["EUAA", "ex-EASO"]


async def test_referenced_institutions_cannot_be_deleted(client, tokens):
    refused = await client.delete(
        "/api/v1/institutions/VP", headers=await if_match(client, "/api/v1/institutions/VP", bearer(tokens["admin"]))
    )
    assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM
    assert (await client.get("/api/v1/institutions/VP")).status_code == 200


async def test_institution_create_update_delete(client, tokens):
    admin = bearer(tokens["admin"])
    body = {"code": "EE PPA", "name": {"en": "Police and Border Guard Board"}, "kind": "agency", "country": "EE"}
    created = await client.post("/api/v1/institutions", json=body, headers=admin)
    assert created.status_code == 201
    bad = await client.post("/api/v1/institutions", json=body | {"code": "X", "country": "Estonia"}, headers=admin)
    assert bad.status_code == 422
    version = admin | {"If-Match": created.headers["etag"]}
    renamed = await client.patch("/api/v1/institutions/EE%20PPA", json={"name": {"et": "x"}}, headers=version)
    assert renamed.status_code == 422  # only the known languages
    reworded = await client.patch("/api/v1/institutions/EE%20PPA", json={"kind": "board"}, headers=version)
    assert reworded.json()["kind"] == "board"
    deleted = await client.delete(
        "/api/v1/institutions/EE%20PPA", headers=admin | {"If-Match": reworded.headers["etag"]}
    )
    assert deleted.status_code == 204


async def test_task_roles_and_indicator_edits(client, tokens):
    tasks = (await client.get("/api/v1/tasks", params={"institution": "VDD"})).json()["items"]
    task = tasks[0]
    admin = bearer(tokens["admin"])
    task_path = f"/api/v1/tasks/{task['id']}"
    patched = await client.patch(
        task_path,
        json={"roles": [{"institution": "IeM IC", "role": "responsible"}]},
        headers=await if_match(client, task_path, admin),
    )
    assert patched.status_code == 200, patched.text
    roles = {i["written_as"]: i["role"] for i in patched.json()["institutions"]}
    assert roles["IeM IC"] == "responsible" and roles["VDD"] is None
    unlisted = await client.patch(
        task_path,
        json={"roles": [{"institution": "UCAK", "role": "involved"}]},
        headers=admin | {"If-Match": patched.headers["etag"]},
    )
    assert unlisted.status_code == 422

    gql = await client.post(
        "/graphql",
        json={"query": "mutation($t: ID!, $e: String) { setTaskRoles(taskId: $t, ifMatch: $e, "
                       "roles: [{institution: \"VDD\", role: INVOLVED}]) { institutionRoles { writtenAs role } } }",
              "variables": {"t": task["id"], "e": patched.headers["etag"]}},
        headers=admin,
    )  # fmt: skip
    roles = {r["writtenAs"]: r["role"] for r in gql.json()["data"]["setTaskRoles"]["institutionRoles"]}
    assert roles["VDD"] == "INVOLVED" and roles["IeM IC"] == "RESPONSIBLE"

    ind = await indicator_id(client, "4.2.3")
    renamed = await graphql(
        client, 'mutation($i: ID!) { updateIndicator(id: $i, input: {unit: "min"}) { unit } }', i=ind
    )
    assert renamed["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    indicator_path = f"/api/v1/indicators/{ind}"
    done = await client.patch(
        indicator_path, json={"unit": "minutes"}, headers=await if_match(client, indicator_path, admin)
    )
    assert done.status_code == 200 and done.json()["unit"] == "minutes"


async def test_cascaded_agency_strategy(client, tokens):
    admin = bearer(tokens["admin"])
    body = {"key": "vp-strategija-2023-2027", "title": {"lv": "Valsts policijas darbības stratēģija 2023.-2027. gadam"},
            "period_start": 2023, "period_end": 2027, "baseline_year": 2021,
            "parent": "iekslietu-nozares-strategija-2023-2027", "owner": "VP"}  # fmt: skip
    created = await client.post("/api/v1/strategies", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["owner"]["code"] == "VP" and created.json()["parent_id"]
    own = f"/api/v1/strategies/{created.json()['id']}"
    version = admin | {"If-Match": created.headers["etag"]}
    backwards = await client.patch(own, json={"period_end": 2020}, headers=version)
    assert backwards.status_code == 422
    parent = f"/api/v1/strategies/{created.json()['parent_id']}"
    assert (await client.delete(parent, headers=await if_match(client, parent, admin))).status_code == 409
    assert (await client.delete(own, headers=version)).status_code == 204


async def test_graphql_admin_edits_use_the_rest_rules(client, tokens):
    admin = bearer(tokens["admin"])

    async def call(query: str, **variables) -> dict:
        return (await client.post("/graphql", json={"query": query, "variables": variables}, headers=admin)).json()

    created = await call(
        "mutation($i: OrganizationInput!) { createOrganization(input: $i) { id acronym name { en } etag } }",
        i={"acronym": "ICMPD", "name": {"en": "International Centre for Migration Policy Development"}, "kind": "x"},
    )
    org = created["data"]["createOrganization"]
    assert org["acronym"] == "ICMPD"
    invalid = await call(
        "mutation($o: ID!, $i: MembershipInput!) { createMembership(organizationId: $o, input: $i) { id } }",
        o=org["id"], i={"member": "PMLP", "relation": "MEMBER", "since": "2019-02-30"},
    )  # fmt: skip
    assert invalid["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "since" in invalid["errors"][0]["message"]
    membership = await call(
        "mutation($o: ID!, $i: MembershipInput!) { createMembership(organizationId: $o, input: $i) "
        "{ since sincePrecision } }",
        o=org["id"], i={"member": "PMLP", "relation": "MEMBER", "since": "2019-02"},
    )  # fmt: skip
    assert membership["data"]["createMembership"] == {"since": "2019-02", "sincePrecision": "MONTH"}
    stale = await call("mutation($o: ID!, $e: String) { deleteOrganization(id: $o, ifMatch: $e) }",
                       o=org["id"], e=org["etag"])  # fmt: skip
    assert stale["errors"][0]["extensions"]["code"] == "PRECONDITION_FAILED"  # a membership was added since
    current = (await call("query($o: ID!) { organization(id: $o) { etag } }", o=org["id"]))["data"]["organization"]
    deleted = await call("mutation($o: ID!, $e: String) { deleteOrganization(id: $o, ifMatch: $e) }",
                         o=org["id"], e=current["etag"])  # fmt: skip
    assert deleted["data"] == {"deleteOrganization": True}


async def test_required_fields_cannot_be_patched_away(client, tokens):
    admin = bearer(tokens["admin"])
    vp = "/api/v1/institutions/VP"
    unnamed = await client.patch(vp, json={"name": None}, headers=await if_match(client, vp, admin))
    assert unnamed.status_code == 422 and unnamed.json()["errors"][0]["field"] == "name"
    org = (await client.get("/api/v1/organizations", params={"q": "frontex"})).json()["items"][0]
    org_path = f"/api/v1/organizations/{org['id']}"
    response = await client.patch(org_path, json={"name": None}, headers=await if_match(client, org_path, admin))
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert "name" in response.json()["detail"]
    every_language = {"lv": None, "en": None, "lt": None, "original": None}
    blanked = await client.patch(
        org_path, json={"name": every_language}, headers=await if_match(client, org_path, admin)
    )
    assert blanked.status_code == 422 and "name" in blanked.json()["detail"], blanked.text
