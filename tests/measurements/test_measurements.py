"""Agencies post yearly actuals: who may, what is valid, corrections, review, import, audit."""

import asyncio
import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.helpers import assert_problem, bearer, graphql, indicator_id
from tests.helpers import post_measurement as post


async def test_writing_needs_a_valid_token(client, tokens):
    ind = await indicator_id(client, "1.1.1")
    url = f"/api/v1/indicators/{ind}/measurements"
    body = {"year": 2023, "value": "78%"}
    assert_problem(await client.post(url, json=body), 401, "bearer token")
    assert_problem(await client.post(url, json=body, headers=bearer("iem_not-a-token")), 401, "not valid")
    assert_problem(await client.post(url, json=body, headers={"Authorization": "Basic abc"}), 401, "Bearer")
    assert_problem(await client.post(url, json=body, headers=bearer(tokens["revoked"])), 401, "revoked")
    assert (await client.get(url)).status_code == 200  # reading stays open


async def test_agencies_write_only_for_their_goals_and_values(client, tokens):
    assert_problem(await post(client, "1.1.1", tokens["VRS"], {"year": 2023, "value": "78%"}), 403, "not involved")
    staffing = {"year": 2023, "value": "83%", "institution": "VRS"}
    assert_problem(await post(client, "H1.1.1", tokens["VP"], staffing), 403, "own values")
    created = await post(client, "1.1.1", tokens["VP"], {"year": 2023, "value": "78%", "comment": "survey"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["revision"], body["status"], body["posted_by"], body["value"]) == (1, "submitted", "agency:VP", 78.0)
    assert created.headers["etag"] == f'"{body["id"]}"'
    own = await post(client, "H1.1.1", tokens["VRS"], staffing)
    assert own.status_code == 201 and own.json()["institution"]["code"] == "VRS"


@pytest.mark.parametrize(
    ("code", "body", "field", "fragment"),
    [
        ("1.1.2", {"year": 2023, "value": "101%"}, "value", "between 0 and 100"),
        ("1.1.2", {"year": 2023, "value": [12, 900]}, "value", "takes percent"),
        ("2.2.2", {"year": 2023, "value": "75%"}, "value", "takes pair"),
        ("1.1.3", {"year": 2023, "value": -3}, "value", "negative"),
        ("1.1.3", {"year": 2023, "value": "lots"}, "value", "is not a number"),
        ("1.1.2", {"year": 2022, "value": "80%"}, "year", "outside the strategy period"),
        ("1.1.2", {"year": 2028, "value": "80%"}, "year", "outside the strategy period"),
        ("H1.1.1", {"year": 2023, "value": "80%"}, "institution", "name the institution"),
        ("1.1.2", {"year": 2023, "value": "80%", "institution": "VP"}, "institution", "no per-institution"),
        ("1.1.2", {"year": 2023, "value": "80%", "institution": "NOPE"}, "institution", "no institution"),
    ],
)
async def test_values_are_validated_against_the_indicator(client, tokens, code, body, field, fragment):
    response = await post(client, code, tokens["admin"], body)
    assert_problem(response, 422, fragment)
    assert response.json()["errors"][0]["field"] == field


async def test_a_year_in_the_future_is_refused(client, tokens):
    next_year = dt.date.today().year + 1
    response = await post(client, "1.1.2", tokens["admin"], {"year": next_year, "value": "80%"})
    assert response.status_code == 422
    assert "future" in response.json()["detail"] or "outside the strategy period" in response.json()["detail"]


async def test_malformed_bodies_get_422_not_500(client, tokens):
    ind = await indicator_id(client, "1.1.2")
    url = f"/api/v1/indicators/{ind}/measurements"
    headers = bearer(tokens["admin"]) | {"content-type": "application/json"}
    assert_problem(await client.post(url, content=b"{not json", headers=headers), 422)
    assert_problem(await client.post(url, json={"year": 2023}, headers=headers), 422, "value")
    assert_problem(await client.post(url, json={"year": 2023, "value": "80%", "extra": 1}, headers=headers), 422)


async def test_a_correction_is_a_new_revision_and_needs_the_current_etag(client, tokens):
    first = await post(client, "1.1.3", tokens["VP"], {"year": 2023, "value": "26,1"})
    etag = first.headers["etag"]
    assert_problem(await post(client, "1.1.3", tokens["VP"], {"year": 2023, "value": "26,3"}), 428, "If-Match")
    second = await post(
        client, "1.1.3", tokens["VP"], {"year": 2023, "value": 26.3, "comment": "typo"}, **{"If-Match": etag}
    )
    assert second.status_code == 201, second.text
    assert (second.json()["revision"], second.json()["text"], second.json()["previous_text"]) == (2, "26,3", "26,1")
    stale = await post(client, "1.1.3", tokens["VP"], {"year": 2023, "value": "26,4"}, **{"If-Match": etag})
    assert_problem(stale, 412, "current revision is 2")

    ind = await indicator_id(client, "1.1.3")
    history = await client.get(f"/api/v1/indicators/{ind}/measurements/2023/history")
    revisions = history.json()["items"]
    assert [(r["revision"], r["text"], r["previous_text"]) for r in revisions] == [
        (1, "26,1", None),
        (2, "26,3", "26,1"),
    ]
    assert history.headers["etag"] == second.headers["etag"]
    current = (await client.get(f"/api/v1/indicators/{ind}/measurements")).json()["items"]
    (year,) = [y for y in current if y["year"] == 2023]
    assert year["current"]["revision"] == 2 and year["official"] is None


async def test_idempotency_key_replays_the_first_response(client, tokens):
    body = {"year": 2023, "value": "45,5"}
    first = await post(client, "1.2.1", tokens["VP"], body, **{"Idempotency-Key": "k-1"})
    again = await post(client, "1.2.1", tokens["VP"], body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    ind = await indicator_id(client, "1.2.1")
    assert len((await client.get(f"/api/v1/indicators/{ind}/measurements/2023/history")).json()["items"]) == 1
    reused = await post(client, "1.2.1", tokens["VP"], {"year": 2023, "value": "45"}, **{"Idempotency-Key": "k-1"})
    assert_problem(reused, 422, "different request")


async def test_review_approves_or_returns_and_the_official_actual_follows(client, tokens):
    ind = await indicator_id(client, "1.2.2")
    posted = await post(client, "1.2.2", tokens["VP"], {"year": 2023, "value": "489"})
    approve = f"/api/v1/indicators/{ind}/measurements/2023/approve"
    assert_problem(await client.post(approve, headers=bearer(tokens["VP"])), 403, "admin")
    approved = await client.post(approve, headers=bearer(tokens["admin"]))
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert_problem(await client.post(approve, headers=bearer(tokens["admin"])), 409, "already approved")

    corrected = await post(
        client, "1.2.2", tokens["VP"], {"year": 2023, "value": "487"}, **{"If-Match": approved.headers["etag"]}
    )
    assert corrected.status_code == 201
    (year,) = [
        y for y in (await client.get(f"/api/v1/indicators/{ind}/measurements")).json()["items"] if y["year"] == 2023
    ]
    assert (year["current"]["text"], year["official"]["text"]) == ("487", "489")  # latest approved stays official

    returned_url = f"/api/v1/indicators/{ind}/measurements/2023/return"
    assert_problem(await client.post(returned_url, json={}, headers=bearer(tokens["admin"])), 422, "why")
    returned = await client.post(returned_url, json={"comment": "source?"}, headers=bearer(tokens["admin"]))
    assert returned.json()["status"] == "returned" and returned.json()["review_comment"] == "source?"
    assert posted.json()["id"] != returned.json()["id"]


async def test_per_institution_review_takes_the_institution(client, tokens):
    ind = await indicator_id(client, "H1.1.2")
    await post(client, "H1.1.2", tokens["PMLP"], {"year": 2023, "value": "52%", "institution": "PMLP"})
    url = f"/api/v1/indicators/{ind}/measurements/2023/approve"
    assert_problem(await client.post(url, headers=bearer(tokens["admin"])), 422, "name the institution")
    done = await client.post(url, params={"institution": "PMLP"}, headers=bearer(tokens["admin"]))
    assert done.status_code == 200 and done.json()["institution"]["code"] == "PMLP"


async def test_csv_import_is_all_or_nothing(client, tokens):
    bad = (
        "indicator_code,year,institution,value,comment\n"
        "3.1.1,2024,,38%,ok\n"
        "3.1.2,2024,,150%,too much\n"
        "9.9.9,2024,,1,unknown\n"
        "3.1.3,2030,,40%,future\n"
    )
    headers = bearer(tokens["VP"]) | {"content-type": "text/csv"}
    response = await client.post("/api/v1/measurements/import", content=bad.encode(), headers=headers)
    assert_problem(response, 422, "3 row(s) failed")
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (3, "value"),
        (4, "indicator_code"),
        (5, "year"),
    ]
    ind = await indicator_id(client, "3.1.1")
    assert (await client.get(f"/api/v1/indicators/{ind}/measurements/2024/history")).status_code == 404

    good = "indicator_code,year,institution,value,comment\n3.1.1,2024,,38%,ok\n3.1.5,2024,,401,\n"
    written = await client.post("/api/v1/measurements/import", content=good.encode(), headers=headers)
    assert written.status_code == 201, written.text
    assert written.json()["written"] == 2
    assert_problem(
        await client.post("/api/v1/measurements/import", content=b"a,b\n1,2\n", headers=headers), 422, "header"
    )


async def test_progress_follows_approved_actuals(client, tokens):
    ind = await indicator_id(client, "1.1.3")  # road casualties per 100 000, lower is better; 2024 target 25
    posted = await post(client, "1.1.3", tokens["VP"], {"year": 2024, "value": "24,2"})
    before = {p["year"]: p for p in (await client.get(f"/api/v1/indicators/{ind}/progress")).json()["items"]}
    assert before[2024]["status"] == "no_data"
    await client.post(f"/api/v1/indicators/{ind}/measurements/2024/approve", headers=bearer(tokens["admin"]))
    after = {p["year"]: p for p in (await client.get(f"/api/v1/indicators/{ind}/progress")).json()["items"]}
    assert (after[2024]["target"], after[2024]["actual"], after[2024]["status"]) == ("25", "24,2", "achieved")
    assert after[2024]["ratio"] == pytest.approx((24.2 - 29.72) / (25 - 29.72))
    assert posted.status_code == 201

    summary = (await client.get("/api/v1/progress", params={"year": 2024, "area": "1"})).json()
    (goal,) = [g for g in summary["goals"] if g["number"] == 1]
    assert goal["counts"]["achieved"] == 1 and goal["counts"]["no_data"] == 2
    assert summary["areas"][0]["counts"]["achieved"] == 1


async def test_qualitative_targets_take_an_admins_status(client, tokens):
    ind = await indicator_id(client, "4.1.1")
    url = f"/api/v1/indicators/{ind}/assessments"
    body = {"year": 2024, "status": "on_track", "comment": "cooperation improved"}
    assert_problem(await client.post(url, json=body, headers=bearer(tokens["VUGD"])), 403)
    assert (await client.post(url, json=body, headers=bearer(tokens["admin"]))).status_code == 204
    progress = {p["year"]: p for p in (await client.get(f"/api/v1/indicators/{ind}/progress")).json()["items"]}
    assert progress[2024]["status"] == "on_track" and progress[2023]["status"] == "no_data"
    bad = await client.post(f"/api/v1/indicators/{await indicator_id(client, '1.1.1')}/assessments", json=body,
                            headers=bearer(tokens["admin"]))  # fmt: skip
    assert_problem(bad, 422, "no qualitative target")


async def test_every_write_is_audited_and_the_log_is_append_only(client, tokens, session):
    created = await post(client, "5.1.3", tokens["PMLP"], {"year": 2023, "value": "10"})
    ind = await indicator_id(client, "5.1.3")
    await client.post(f"/api/v1/indicators/{ind}/measurements/2023/approve", headers=bearer(tokens["admin"]))
    assert_problem(await client.get("/api/v1/audit", headers=bearer(tokens["PMLP"])), 403)
    entries = (
        await client.get("/api/v1/audit", params={"entity_id": created.json()["id"]}, headers=bearer(tokens["admin"]))
    ).json()["items"]
    assert [(e["action"], e["role"], e["institution_code"]) for e in entries] == [
        ("create", "agency", "PMLP"),
        ("approve", "admin", None),
    ]
    assert entries[0]["before"] is None and entries[0]["after"]["text"] == "10"
    assert entries[1]["before"]["status"] == "submitted" and entries[1]["after"]["status"] == "approved"
    with pytest.raises(DBAPIError, match="cannot be changed"):
        await session.execute(text("UPDATE audit_entry SET action = 'x'"))
    await session.rollback()


async def test_concurrent_corrections_with_one_etag_let_exactly_one_win(client, tokens):
    first = await post(client, "2.1.2", tokens["VRS"], {"year": 2023, "value": "44%"})
    etag = first.headers["etag"]
    results = await asyncio.gather(
        *(post(client, "2.1.2", tokens["VRS"], {"year": 2023, "value": f"{45 + n / 10}%"}, **{"If-Match": etag})
          for n in range(8))
    )  # fmt: skip
    assert sorted(r.status_code for r in results) == [201] + [412] * 7
    ind = await indicator_id(client, "2.1.2")
    history = (await client.get(f"/api/v1/indicators/{ind}/measurements/2023/history")).json()["items"]
    assert [r["revision"] for r in history] == [1, 2]


async def test_graphql_records_and_shows_actuals_and_progress(client, tokens):
    ind = await indicator_id(client, "5.1.1")
    mutation = """mutation($input: RecordMeasurementInput!) {
      recordMeasurement(input: $input) { revision text value status postedBy institution { code } } }"""
    unauthenticated = await graphql(client, mutation, input={"indicatorId": ind, "year": 2023, "value": "93%"})
    assert unauthenticated["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    response = await client.post(
        "/graphql",
        json={"query": mutation, "variables": {"input": {"indicatorId": ind, "year": 2023, "number": 93.5}}},
        headers=bearer(tokens["PMLP"]),
    )
    recorded = response.json()["data"]["recordMeasurement"]
    assert recorded == {"revision": 1, "text": "93,5%", "value": 93.5, "status": "SUBMITTED", "postedBy": "agency:PMLP",
                        "institution": None}  # fmt: skip
    forbidden = await client.post(
        "/graphql",
        json={
            "query": "mutation($i: ID!) { approveMeasurement(indicatorId: $i, year: 2023) { status } }",
            "variables": {"i": ind},
        },
        headers=bearer(tokens["PMLP"]),
    )
    assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await client.post(
        "/graphql",
        json={
            "query": "mutation($i: ID!) { approveMeasurement(indicatorId: $i, year: 2023) { status } }",
            "variables": {"i": ind},
        },
        headers=bearer(tokens["admin"]),
    )
    shown = await graphql(
        client,
        "query($i: ID!) { indicator(id: $i) { actuals { year text status revision postedBy postedAt } "
        "progress { year target actual status ratio } } }",
        i=ind,
    )
    indicator = shown["data"]["indicator"]
    assert indicator["actuals"][0]["status"] == "APPROVED"
    progress = {p["year"]: p for p in indicator["progress"]}
    assert progress[2023] == {"year": 2023, "target": "92%", "actual": "93,5%", "status": "ACHIEVED", "ratio": None}
    summary = await graphql(client, '{ progressSummary(year: 2023, area: "5") { areas { code counts { achieved } } } }')
    assert summary["data"]["progressSummary"]["areas"][0]["counts"]["achieved"] >= 1


async def test_concurrent_posts_with_retries_store_each_value_once(client, tokens, session):
    """Many clients post at once, each request sent twice with its Idempotency-Key: all stored, none twice."""
    requests = [
        (code, {"year": year, "value": "9" if code == "H2.1.3" else "75%",
                "institution": "VUGD" if code.startswith("H1") else None}, f"retry-{code}-{year}")
        for code in ("H1.1.1", "H1.1.2", "H2.1.1", "H2.1.2", "H2.1.3")
        for year in (2024, 2025)
    ]  # fmt: skip
    responses = await asyncio.gather(
        *(
            post(client, code, tokens["VUGD"], body, **{"Idempotency-Key": key})
            for code, body, key in requests
            for _ in (1, 2)
        )
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses if r.status_code != 201]
    ids = [r.json()["id"] for r in responses]
    assert ids[0::2] == ids[1::2]  # each retry got the first response
    assert len(set(ids)) == len(requests) == 10
    stored = await session.execute(
        text("SELECT count(*) FROM measurement WHERE id = ANY(:ids)"), {"ids": list(set(ids))}
    )
    assert stored.scalar_one() == 10
