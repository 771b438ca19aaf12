"""The journal and the changes feed: every kind of write reaches the feed, in commit order, none skipped;
the request commits once, and a helper's broken rule does not undo its caller's work."""

import datetime as dt
import uuid

import pytest
from sqlalchemy import text

from service.core import writes
from service.core.auth import Principal, Role
from service.core.errors import Problem
from service.registry import service as registry
from service.registry.models import Organization
from service.registry.schemas import OrganizationIn
from tests.helpers import bearer, graphql, if_match, indicator_id

ADMIN = Principal(token_id=uuid.uuid4(), role=Role.admin, institution_id=None, institution_code=None)


async def _poll(client, cursor: str | None = None, since: str | None = None) -> tuple[list[dict], str]:
    """Every page from `cursor` (or `since`) to the end, as an integrator does; the cursor to poll with next."""
    items = []
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {"since": since} if since else {})
        page = (await client.get("/api/v1/changes", params=params)).json()
        items += page["items"]
        cursor = page["next_cursor"] or page["resume_cursor"]
        if page["next_cursor"] is None:
            return items, cursor


def _organization(acronym: str) -> OrganizationIn:
    return OrganizationIn(acronym=acronym, name={"en": f"Test organisation {acronym}"}, kind="test")


async def test_a_transaction_that_commits_late_is_not_skipped(client, sessionmaker):
    _, cursor = await _poll(client, since=dt.datetime.now(dt.UTC).isoformat())
    early, late = sessionmaker(), sessionmaker()
    try:
        # `early` starts and writes first but commits last; `late` commits in between.
        slow = await registry.create_organization(early, ADMIN, _organization("SLOW-COMMIT"))
        fast = await registry.create_organization(late, ADMIN, _organization("FAST-COMMIT"))
        await late.commit()
        between, cursor = await _poll(client, cursor)
        await early.commit()
        after, cursor = await _poll(client, cursor)
    finally:
        await early.close()
        await late.close()
    seen = [(c["entity"], c["id"]) for c in between + after]
    assert ("organization", str(slow["id"])) in seen
    assert ("organization", str(fast["id"])) in seen
    assert ("organization", str(slow["id"])) not in [(c["entity"], c["id"]) for c in between]  # not yet committed
    assert (await _poll(client, cursor))[0] == []  # caught up: polling again reports nothing twice


async def test_measurements_reach_the_feed_with_their_indicator(client, tokens):
    ind = await indicator_id(client, "1.1.2")
    url = f"/api/v1/indicators/{ind}/measurements"
    _, cursor = await _poll(client, since=dt.datetime.now(dt.UTC).isoformat())

    async def next_change() -> dict:
        nonlocal cursor
        items, cursor = await _poll(client, cursor)
        (change,) = items
        assert change["parent"] == {"entity": "indicator", "id": ind}
        return change

    posted = await client.post(url, json={"year": 2026, "value": "80%"}, headers=bearer(tokens["VP"]))
    assert posted.status_code == 201, posted.text
    assert (await next_change()) | {"at": None} == {
        "entity": "measurement", "id": posted.json()["id"], "change": "upsert", "action": "create", "at": None,
        "parent": {"entity": "indicator", "id": ind},
    }  # fmt: skip
    corrected = await client.post(
        url, json={"year": 2026, "value": "81%"}, headers=bearer(tokens["VP"]) | {"If-Match": posted.headers["etag"]}
    )
    assert corrected.status_code == 201, corrected.text
    assert ((c := await next_change())["id"], c["action"]) == (corrected.json()["id"], "correct")
    approved = await client.post(f"{url}/2026/approve", headers=bearer(tokens["admin"]))
    assert approved.status_code == 200
    assert ((c := await next_change())["id"], c["action"]) == (corrected.json()["id"], "approve")

    other = await client.post(url, json={"year": 2025, "value": "82%"}, headers=bearer(tokens["VP"]))
    assert ((await next_change())["id"], other.status_code) == (other.json()["id"], 201)
    returned = await client.post(f"{url}/2025/return", json={"comment": "source?"}, headers=bearer(tokens["admin"]))
    assert returned.status_code == 200
    assert ((c := await next_change())["id"], c["action"]) == (other.json()["id"], "return")

    qualitative = await indicator_id(client, "4.1.1")
    assessed = await client.post(
        f"/api/v1/indicators/{qualitative}/assessments",
        json={"year": 2026, "status": "on_track"},
        headers=bearer(tokens["admin"]),
    )
    assert assessed.status_code == 204
    items, cursor = await _poll(client, cursor)
    assert [(c["entity"], c["action"], c["parent"]) for c in items] == [
        ("progress_assessment", "assess", {"entity": "indicator", "id": qualitative})
    ]


async def test_a_deleted_membership_shows_under_its_organisation(client, tokens):
    admin = bearer(tokens["admin"])
    org = (
        await client.post(
            "/api/v1/organizations", json={"acronym": "FEED-M", "name": {"en": "Feed test"}, "kind": "x"}, headers=admin
        )
    ).json()
    membership = await client.post(
        f"/api/v1/organizations/{org['id']}/memberships", json={"member": "VP", "relation": "member"}, headers=admin
    )
    assert membership.status_code == 201, membership.text
    _, cursor = await _poll(client, since=dt.datetime.now(dt.UTC).isoformat())
    path = f"/api/v1/memberships/{membership.json()['id']}"
    assert (await client.delete(path, headers=await if_match(client, path, admin))).status_code == 204
    items, _ = await _poll(client, cursor)
    assert items == [
        {
            "entity": "membership", "id": membership.json()["id"], "change": "delete", "action": "delete",
            "at": items[0]["at"], "parent": {"entity": "organization", "id": org["id"]},
        }
    ]  # fmt: skip


async def test_graphql_serves_the_same_feed(client, tokens):
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    rest = (await client.get("/api/v1/changes", params={"since": since, "limit": 5})).json()
    query = """query($since: DateTime, $first: Int!) { changes(since: $since, first: $first) {
        items { entity rowId change action at parent { entity rowId } }
        pageInfo { hasNextPage endCursor } resumeCursor } }"""
    data = (await graphql(client, query, uncached=True, since=since, first=5))["data"]["changes"]
    served = [(c["entity"], c["rowId"], c["change"].lower(), c["action"], c["parent"]) for c in data["items"]]
    assert served == [
        (c["entity"], c["id"], c["change"], c["action"], c["parent"] and {"entity": c["parent"]["entity"],
                                                                         "rowId": c["parent"]["id"]})
        for c in rest["items"]
    ]  # fmt: skip
    assert (data["pageInfo"]["endCursor"], data["resumeCursor"]) == (rest["next_cursor"], rest["resume_cursor"])
    bad = await graphql(client, '{ changes(after: "nonsense") { resumeCursor } }')
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_failing_mutation_field_writes_nothing(client, tokens):
    body = {"code": "FEED ALL", "name": {"en": "All or nothing"}, "kind": "agency", "country": "FI"}
    query = (
        "mutation($i: InstitutionInput!) { a: createInstitution(input: $i) { code } b: createInstitution(input: $i) "
        "{ code } }"
    )
    response = await client.post(
        "/graphql", json={"query": query, "variables": {"i": body}}, headers=bearer(tokens["admin"])
    )
    result = response.json()
    assert result["data"] is None  # `a` would claim a write that was rolled back
    assert [e["extensions"]["code"] for e in result["errors"]] == ["CONFLICT"]
    assert (await client.get("/api/v1/institutions/FEED ALL")).status_code == 404


async def test_a_broken_rule_undoes_only_its_own_write(sessionmaker):
    async with sessionmaker() as session:
        kept = await registry.create_organization(session, ADMIN, _organization("KEPT-BESIDE"))
        with pytest.raises(Problem) as refused:
            await registry.create_organization(session, ADMIN, _organization("KEPT-BESIDE"))
        assert refused.value.status == 409
        other = await session.get(Organization, (await registry.create_organization(
            session, ADMIN, _organization("RENAMED-NOT")))["id"])  # fmt: skip
        before, other_id = writes.snapshot(other), other.id
        other.acronym = "KEPT-BESIDE"  # an edit made before the helper's savepoint opens
        with pytest.raises(Problem) as refused:
            await writes.save(session, ADMIN, "organization", other, before)
        assert refused.value.status == 409
        await session.commit()  # the caller's transaction is still its own to commit
    async with sessionmaker() as session:
        assert (await registry.get_organization(session, kept["id"]))["acronym"] == "KEPT-BESIDE"
        assert (await registry.get_organization(session, other_id))["acronym"] == "RENAMED-NOT"


@pytest.fixture
async def commit_fails_for_code(sessionmaker):
    """Institutions with this code pass every check until COMMIT, where a deferred trigger refuses them."""
    code = "COMMIT FAILS"
    async with sessionmaker() as session:
        await session.execute(
            text(
                "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.code = 'COMMIT FAILS' THEN RAISE EXCEPTION 'refused at commit'; END IF; RETURN NULL; END $$"
            )
        )
        await session.execute(
            text(
                "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON institution "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()"
            )
        )
        await session.commit()
    yield code
    async with sessionmaker() as session:
        await session.execute(text("DROP TRIGGER refuse_at_commit ON institution"))
        await session.execute(text("DROP FUNCTION refuse_at_commit()"))
        await session.commit()


async def test_no_answer_claims_a_write_whose_commit_failed(client, tokens, commit_fails_for_code):
    body = {"code": commit_fails_for_code, "name": {"en": "Never saved"}, "kind": "agency", "country": "FI"}
    rest = await client.post("/api/v1/institutions", json=body, headers=bearer(tokens["admin"]))
    assert rest.status_code == 500 and rest.headers["content-type"] == "application/problem+json"
    query = "mutation($i: InstitutionInput!) { createInstitution(input: $i) { code } }"
    gql = (
        await client.post("/graphql", json={"query": query, "variables": {"i": body}}, headers=bearer(tokens["admin"]))
    ).json()
    assert gql["data"] is None and gql["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert (await client.get(f"/api/v1/institutions/{commit_fails_for_code}")).status_code == 404
