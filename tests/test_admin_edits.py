"""Admin edits merge (RFC 7396) and name the version they were made against (If-Match), over REST and GraphQL."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.helpers import bearer, if_match

PROBLEM = "application/problem+json"
NAME = {"lv": "Eiropas Migrācijas tīkls", "en": "European Migration Network", "lt": "Europos migracijos tinklas"}


@pytest.fixture(autouse=True)
async def created_organizations(client, tokens) -> AsyncIterator[list[str]]:
    """Organisations a test made are deleted after it: the database is shared with the tests that count them."""
    paths: list[str] = []
    yield paths
    admin = bearer(tokens["admin"])
    for path in paths:
        current = await client.get(path)
        if current.status_code == 200:
            deleted = await client.delete(path, headers=admin | {"If-Match": current.headers["etag"]})
            assert deleted.status_code == 204, deleted.text


async def _organization(client, admin: dict[str, str], created: list[str]) -> tuple[str, str]:
    """A fresh organisation of this test's own; its path and ETag."""
    body = {"acronym": f"T{uuid.uuid4().hex[:8]}", "name": NAME, "kind": "network", "established": "2008"}
    response = await client.post("/api/v1/organizations", json=body, headers=admin)
    assert response.status_code == 201, response.text
    created.append(f"/api/v1/organizations/{response.json()['id']}")
    return created[-1], response.headers["etag"]


def _given(text: dict) -> dict:
    """A localized text without the languages it does not have."""
    return {language: value for language, value in text.items() if value is not None}


async def _gql(client, admin: dict[str, str], query: str, **variables) -> dict:
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_partial_name_edit_keeps_the_other_languages(client, tokens, created_organizations):
    admin = bearer(tokens["admin"])
    path, etag = await _organization(client, admin, created_organizations)
    renamed = await client.patch(
        path,
        json={"name": {"en": "EMN"}},
        headers=admin | {"If-Match": etag, "Content-Type": "application/merge-patch+json"},
    )
    assert renamed.status_code == 200, renamed.text
    assert _given(renamed.json()["name"]) == NAME | {"en": "EMN"}
    assert _given((await client.get(path)).json()["name"]) == NAME | {"en": "EMN"}
    assert renamed.headers["etag"] == (await client.get(path)).headers["etag"] != etag

    update = """mutation($id: ID!, $e: String) {
        updateOrganization(id: $id, ifMatch: $e, input: {name: {lv: "EMT"}}) { name { lv en lt } etag } }"""
    done = await _gql(client, admin, update, id=path.rsplit("/", 1)[1], e=renamed.headers["etag"])
    assert done["data"]["updateOrganization"]["name"] == {"lv": "EMT", "en": "EMN", "lt": NAME["lt"]}
    assert done["data"]["updateOrganization"]["etag"] == (await client.get(path)).headers["etag"]


async def test_null_removes_an_optional_field_and_a_required_one_cannot_go(client, tokens, created_organizations):
    admin = bearer(tokens["admin"])
    path, etag = await _organization(client, admin, created_organizations)
    removed = await client.patch(
        path, json={"established": None, "name": {"lt": None}}, headers=admin | {"If-Match": etag}
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["established"] is None
    assert _given(removed.json()["name"]) == {"lv": NAME["lv"], "en": NAME["en"]}

    for field in ("kind", "name"):
        refused = await client.patch(path, json={field: None}, headers=admin | {"If-Match": removed.headers["etag"]})
        assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
        assert refused.json()["errors"] == [{"field": field, "message": "required; it cannot be removed"}]
    assert (await client.get(path)).json()["kind"] == "network"  # a refused edit writes nothing

    gql = await _gql(
        client, admin, 'mutation($id: ID!, $e: String) { updateOrganization(id: $id, ifMatch: $e, input: {kind: null}) '
        "{ kind } }", id=path.rsplit("/", 1)[1], e=removed.headers["etag"],
    )  # fmt: skip
    assert gql["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "kind" in gql["errors"][0]["message"]


async def test_nested_texts_of_memberships_tasks_and_indicators_merge(client, tokens, created_organizations):
    admin = bearer(tokens["admin"])
    path, _ = await _organization(client, admin, created_organizations)
    membership = await client.post(
        f"{path}/memberships",
        json={"member": "VP", "relation": "participant", "note": {"lv": "piedalās", "en": "takes part"}},
        headers=admin,
    )
    assert membership.status_code == 201, membership.text
    assert membership.headers["location"] == f"/api/v1/memberships/{membership.json()['id']}"
    noted = await client.patch(
        membership.headers["location"],
        json={"note": {"en": "participates"}, "since": "2015"},
        headers=await if_match(client, membership.headers["location"], admin),
    )
    assert noted.status_code == 200, noted.text
    assert _given(noted.json()["note"]) == {"lv": "piedalās", "en": "participates"}
    assert noted.json()["member"]["code"] == "VP" and noted.json()["since"] == "2015"

    task = (await client.get("/api/v1/tasks", params={"institution": "VP", "limit": 1})).json()["items"][0]
    task_path = f"/api/v1/tasks/{task['id']}"
    retold = await client.patch(
        task_path, json={"text": {"en": "An English wording"}}, headers=await if_match(client, task_path, admin)
    )
    assert retold.status_code == 200, retold.text
    assert _given(retold.json()["text"]) == _given(task["text"]) | {"en": "An English wording"}
    restored = await client.patch(
        task_path, json={"text": {"en": task["text"]["en"]}}, headers=admin | {"If-Match": retold.headers["etag"]}
    )
    assert _given(restored.json()["text"]) == _given(task["text"])

    indicator = (await client.get("/api/v1/indicators", params={"limit": 1})).json()["items"][0]
    query = """mutation($i: ID!, $e: String) {
        updateIndicator(id: $i, ifMatch: $e, input: {name: {en: "Share of cases"}}) { name { lv en } unit } }"""
    etag = (await client.get(f"/api/v1/indicators/{indicator['id']}")).headers["etag"]
    done = (await _gql(client, admin, query, i=indicator["id"], e=etag.strip('"')))["data"]["updateIndicator"]
    assert done == {"name": {"lv": indicator["name"]["lv"], "en": "Share of cases"}, "unit": indicator["unit"]}
    indicator_path = f"/api/v1/indicators/{indicator['id']}"
    restored = await client.patch(
        indicator_path,
        json={"name": {"en": indicator["name"]["en"]}},
        headers=await if_match(client, indicator_path, admin),
    )
    assert restored.json()["name"] == indicator["name"]


async def test_edits_without_a_valid_if_match_are_refused_with_what_to_send(client, tokens, created_organizations):
    admin = bearer(tokens["admin"])
    path, etag = await _organization(client, admin, created_organizations)
    missing = await client.patch(path, json={"kind": "x"}, headers=admin)
    assert missing.status_code == 428 and "If-Match" in missing.json()["detail"]
    for malformed in ("abc", etag.strip('"'), '"abc', "W/abc", '"a" "b"', ","):
        response = await client.patch(path, json={"kind": "x"}, headers=admin | {"If-Match": malformed})
        assert response.status_code == 400, (malformed, response.text)
        assert response.headers["content-type"] == PROBLEM and 'If-Match: "' in response.json()["detail"]
    stale = await client.delete(path, headers=admin | {"If-Match": '"0123"'})
    assert stale.status_code == 412 and "Read it again" in stale.json()["detail"]
    weak = await client.delete(path, headers=admin | {"If-Match": f"W/{etag}"})
    assert weak.status_code == 412  # If-Match compares strongly (RFC 9110 13.1.1)
    assert (await client.get(path)).status_code == 200 and (await client.get(path)).json()["kind"] == "network"

    listed = await client.patch(path, json={"kind": "forum"}, headers=admin | {"If-Match": f'"old", {etag}'})
    assert listed.status_code == 200 and listed.json()["kind"] == "forum"
    anything = await client.patch(path, json={"kind": "body"}, headers=admin | {"If-Match": "*"})
    assert anything.status_code == 200  # `*`: "whatever is there", allowed for admin edits of an existing entity

    org_id = path.rsplit("/", 1)[1]
    no_version = await _gql(client, admin, "mutation($o: ID!) { deleteOrganization(id: $o) }", o=org_id)
    assert no_version["errors"][0]["extensions"]["code"] == "PRECONDITION_REQUIRED"
    wrong = await _gql(client, admin, 'mutation($o: ID!) { deleteOrganization(id: $o, ifMatch: "0123") }', o=org_id)
    assert wrong["errors"][0]["extensions"]["code"] == "PRECONDITION_FAILED"


async def test_a_malformed_if_none_match_is_a_400(client):
    for _ in range(2):  # the second is answered by the response cache, which must say the same
        response = await client.get("/api/v1/institutions/VP", headers={"If-None-Match": "abc"})
        assert response.status_code == 400 and 'If-None-Match: "' in response.json()["detail"]
    etag = (await client.get("/api/v1/institutions/VP")).headers["etag"]
    assert (await client.get("/api/v1/institutions/VP", headers={"If-None-Match": f'W/"x", {etag}'})).status_code == 304


async def test_the_second_of_two_admins_gets_412_instead_of_overwriting(client, tokens, created_organizations):
    first, second = bearer(tokens["admin"]), bearer(tokens["admin"])
    path, etag = await _organization(client, first, created_organizations)
    read_by_both = {"If-Match": etag}
    assert (await client.patch(path, json={"name": {"en": "EMN"}}, headers=first | read_by_both)).status_code == 200
    late = await client.patch(path, json={"name": {"en": "The EMN"}, "kind": "x"}, headers=second | read_by_both)
    assert late.status_code == 412
    assert (await client.get(path)).json()["name"]["en"] == "EMN"
    again = await client.patch(path, json={"kind": "x"}, headers=await if_match(client, path, second))
    assert again.status_code == 200 and again.json()["name"]["en"] == "EMN" and again.json()["kind"] == "x"


async def test_concurrent_edits_and_deletes_of_one_row_are_never_a_500(client, tokens, created_organizations):
    admin = bearer(tokens["admin"])
    for _ in range(6):
        path, etag = await _organization(client, admin, created_organizations)

        # Two admins with the same version: one edit wins, the other is told; nothing is lost unseen.
        edits = await asyncio.gather(
            client.patch(path, json={"aliases": ["one"]}, headers=admin | {"If-Match": etag}),
            client.patch(path, json={"aliases": ["two"]}, headers=admin | {"If-Match": etag}),
        )
        assert sorted(r.status_code for r in edits) == [200, 412], [r.text for r in edits]
        winner = next(r for r in edits if r.status_code == 200)
        assert (await client.get(path)).json()["aliases"] == winner.json()["aliases"]

        # An edit racing a delete of the same row: 404 once the row is gone, 412 when the edit came first.
        version = admin | {"If-Match": winner.headers["etag"]}
        edit, delete = await asyncio.gather(
            client.patch(path, json={"kind": "race"}, headers=version), client.delete(path, headers=version)
        )
        assert (edit.status_code, delete.status_code) in {(200, 412), (404, 204)}, (edit.text, delete.text)
        if delete.status_code == 412:
            assert (await client.delete(path, headers=admin | {"If-Match": edit.headers["etag"]})).status_code == 204
        assert (await client.get(path)).status_code == 404

        # A membership edited while its organisation is deleted: the edit lands first or finds it gone.
        path, _ = await _organization(client, admin, created_organizations)
        membership = await client.post(
            f"{path}/memberships", json={"member": "VP", "relation": "member"}, headers=admin
        )
        edit, delete = await asyncio.gather(
            client.patch(membership.headers["location"], json={"since": "2020"},
                         headers=admin | {"If-Match": membership.headers["etag"]}),
            client.delete(path, headers=await if_match(client, path, admin)),
        )  # fmt: skip
        assert (edit.status_code, delete.status_code) in {(200, 204), (200, 412), (404, 204)}, (edit.text, delete.text)
        if delete.status_code == 412:  # the membership changed after the organisation was read
            assert (await client.delete(path, headers=await if_match(client, path, admin))).status_code == 204
        assert (await client.get(membership.headers["location"])).status_code == 404


ETAGS = """query($first: Int!) { organizations(first: $first) { edges { node {
    rowId etag memberships { rowId etag member { code etag } } } } } }"""


async def test_graphql_etags_are_the_rest_etags_in_a_fixed_number_of_statements(client, sql_statements):
    sql_statements.reset()
    small = (await _gql(client, {}, ETAGS + f"# {uuid.uuid4()}", first=2))["data"]["organizations"]["edges"]
    small_count = sql_statements.count
    sql_statements.reset()
    large = (await _gql(client, {}, ETAGS + f"# {uuid.uuid4()}", first=40))["data"]["organizations"]["edges"]
    assert len(large) == 40 and len(small) == 2
    # Batches over empty key lists are skipped, so a small page may send a few statements fewer; never one per row.
    assert sql_statements.count <= small_count + 4, sql_statements.statements
    with_memberships = next(edge["node"] for edge in large if edge["node"]["memberships"])
    membership = with_memberships["memberships"][0]
    rest = [
        (f"/api/v1/organizations/{with_memberships['rowId']}", with_memberships["etag"]),
        (f"/api/v1/memberships/{membership['rowId']}", membership["etag"]),
        (f"/api/v1/institutions/{membership['member']['code']}", membership["member"]["etag"]),
    ]
    for path, etag in rest:
        assert (await client.get(path)).headers["etag"] == etag, path


def test_the_openapi_document_declares_merge_patch_and_if_match(app):
    paths = app.openapi()["paths"]
    patches = [operations["patch"] for operations in paths.values() if "patch" in operations]
    assert len(patches) == 6
    for operation in patches + [operations["delete"] for operations in paths.values() if "delete" in operations]:
        (header,) = [p for p in operation["parameters"] if p["in"] == "header" and p["name"].lower() == "if-match"]
        assert header["required"] is True
        assert {"412", "428"} <= set(operation["responses"])
    for operation in patches:
        assert set(operation["requestBody"]["content"]) == {"application/merge-patch+json", "application/json"}
