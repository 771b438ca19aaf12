"""As-of views: "what did the report say on that day?" answered from the kept revisions and reviews."""

import pytest

from tests.helpers import bearer, graphql
from tests.measurements.reporting_strategy import copied_strategy

KEY = "as-of-test"


@pytest.fixture(scope="module")
async def strategy_key(sessionmaker):
    async with sessionmaker() as session, copied_strategy(session, KEY) as key:
        yield key


async def test_between_two_approvals_the_answer_is_the_first_approved_value(client, tokens, strategy_key):
    indicators = (await client.get("/api/v1/indicators", params={"strategy": KEY, "limit": 500})).json()["items"]
    (ind,) = [i["id"] for i in indicators if i["code"] == "1.1.3"]
    base = f"/api/v1/indicators/{ind}/measurements"
    admin = bearer(tokens["admin"])
    posted = await client.post(base, json={"year": 2024, "value": "27"}, headers=bearer(tokens["VP"]))
    assert posted.status_code == 201, posted.text
    first = await client.post(f"{base}/2024/approve", headers=admin)
    assert first.status_code == 200, first.text
    first_approved_at = first.json()["reviewed_at"]
    corrected = await client.post(base, json={"year": 2024, "value": "24"},
                                  headers=bearer(tokens["VP"]) | {"If-Match": first.headers["etag"]})  # fmt: skip
    assert corrected.status_code == 201, corrected.text
    corrected_at = corrected.json()["posted_at"]
    assert (await client.post(f"{base}/2024/approve", headers=admin)).status_code == 200

    now = (await client.get(base)).json()["items"]
    assert [(y["current"]["text"], y["official"]["text"]) for y in now if y["year"] == 2024] == [("24", "24")]
    then = (await client.get(base, params={"as_of": first_approved_at})).json()["items"]
    assert [(y["current"]["text"], y["official"]["text"]) for y in then if y["year"] == 2024] == [("27", "27")]
    # After the correction, before its approval: the correction is current (submitted), 27 still official.
    between = (await client.get(base, params={"as_of": corrected_at})).json()["items"]
    ((current, official),) = [(y["current"], y["official"]) for y in between if y["year"] == 2024]
    assert (current["text"], current["status"], current["reviewed_at"], official["text"]) == (
        "24", "submitted", None, "27",
    )  # fmt: skip

    history = (await client.get(f"{base}/2024/history", params={"as_of": first_approved_at})).json()["items"]
    assert [(r["text"], r["status"]) for r in history] == [("27", "approved")]
    progress = (await client.get(f"/api/v1/indicators/{ind}/progress", params={"as_of": first_approved_at})).json()
    assert [(p["actual"], p["status"]) for p in progress["items"] if p["year"] == 2024] == [("27", "off_track")]
    progress_now = (await client.get(f"/api/v1/indicators/{ind}/progress")).json()
    assert [(p["actual"], p["status"]) for p in progress_now["items"] if p["year"] == 2024] == [("24", "achieved")]
    summary = await client.get("/api/v1/progress", params={"year": 2024, "strategy": KEY, "as_of": first_approved_at})
    area_1 = summary.json()["areas"][0]["counts"]
    assert (area_1["off_track"], area_1["achieved"]) == (1, 0)

    query = """query($id: ID!, $at: DateTime!) { asOf(at: $at) {
        official(indicatorId: $id) { year text status }
        history(indicatorId: $id, year: 2024) { edges { node { revision text } } }
        progressSummary(year: 2024, strategy: "as-of-test") { areas { code counts { offTrack achieved } } } } }"""
    data = (await graphql(client, query, id=ind, at=first_approved_at))["data"]["asOf"]
    assert [a for a in data["official"] if a["year"] == 2024] == [{"year": 2024, "text": "27", "status": "APPROVED"}]
    assert [edge["node"] for edge in data["history"]["edges"]] == [{"revision": 1, "text": "27"}]
    assert data["progressSummary"]["areas"][0]["counts"] == {"offTrack": 1, "achieved": 0}

    early = await client.get(f"{base}/2024/history", params={"as_of": "2000-01-01T00:00:00Z"})
    assert early.status_code == 404 and "as of 2000-01-01" in early.json()["detail"]
    bad = await client.get(base, params={"as_of": "yesterday"})
    assert bad.status_code == 422 and "RFC 3339" in bad.text


async def test_a_moment_outside_the_years_utc_holds_is_refused_and_one_without_offset_is_utc(client):
    """0001-01-01T00:00:00+14:00 is before year 1 in UTC: GraphQL refuses it as input, as REST does, not a 500."""
    literal = await graphql(client, '{ asOf(at: "0001-01-01T00:00:00+14:00") { at } }')
    assert literal["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "outside years 1-9999" in literal["errors"][0]["message"]
    variable = await graphql(client, "query($t: DateTime!) { asOf(at: $t) { at } }", t="9999-12-31T23:59:59-14:00")
    assert variable["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    since = await graphql(client, '{ changes(since: "0001-01-01T00:00:00+01:00") { resumeCursor } }')
    assert since["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    naive = await graphql(client, '{ asOf(at: "2025-03-01T00:00:00") { at } }')
    assert naive["data"]["asOf"]["at"] == "2025-03-01T00:00:00+00:00"
