"""The reporting calendar and closing a year: what an institution owes and in which state; a closed year refuses
every write path (posts, corrections, imports, reviews) with who closed it, until a reopen or an exception."""

import asyncio
import csv
import datetime as dt
import io
import uuid

import pytest
from openpyxl import Workbook
from sqlalchemy import text

from service.core.auth import principal_of
from service.measurements import periods, revisions, values
from service.measurements.schemas import MeasurementIn
from service.measurements.xlsx import XLSX_MEDIA_TYPE
from service.strategy.service import resolve_strategy_id
from tests.helpers import assert_problem, bearer
from tests.measurements.reporting_strategy import copied_strategy

KEY = "reporting-calendar-test"


@pytest.fixture(scope="module")
async def strategy_key(sessionmaker):
    async with sessionmaker() as session, copied_strategy(session, KEY) as key:
        yield key


async def indicator(client, code: str) -> str:
    response = await client.get("/api/v1/indicators", params={"strategy": KEY, "limit": 500})
    (found,) = [i for i in response.json()["items"] if i["code"] == code]
    return found["id"]


async def post(client, token: str, code: str, year: int, value, **headers):
    body = {"year": year, "value": value}
    return await client.post(
        f"/api/v1/indicators/{await indicator(client, code)}/measurements", json=body, headers=bearer(token) | headers
    )


async def test_an_agency_sees_what_it_owes_for_a_year_and_in_which_state(client, tokens, strategy_key):
    url = "/api/v1/reporting/2023"
    response = await client.get(url, params={"strategy": strategy_key}, headers=bearer(tokens["VP"]))
    assert response.status_code == 200, response.text
    body = response.json()
    # The default rule: due on 1 March of the next year; 2023 is long past it, so what is missing is late.
    assert (body["period"]["opens_on"], body["period"]["due_on"], body["period"]["closed"]) == (
        "2024-01-01", "2024-03-01", False,
    )  # fmt: skip
    assert body["institution"] == "VP"
    codes = [s["code"] for s in body["slots"]]
    assert {"1.1.1", "1.1.2", "1.1.3", "1.2.1"} <= set(codes)
    assert all("VP" in s["owed_by"] for s in body["slots"])
    assert {s["state"] for s in body["slots"]} == {"late"}
    assert body["counts"]["late"] == body["counts"]["total"] == len(codes)

    assert (await post(client, tokens["VP"], "1.1.1", 2023, "79%")).status_code == 201
    body = (await client.get(url, params={"strategy": strategy_key}, headers=bearer(tokens["VP"]))).json()
    (slot,) = [s for s in body["slots"] if s["code"] == "1.1.1"]
    assert (slot["state"], slot["revision"], slot["value"]) == ("submitted", 1, "79%")
    assert (body["counts"]["submitted"], body["counts"]["late"]) == (1, len(codes) - 1)

    ind = await indicator(client, "1.1.1")
    returned = await client.post(f"/api/v1/indicators/{ind}/measurements/2023/return", json={"comment": "source?"},
                                 headers=bearer(tokens["admin"]))  # fmt: skip
    assert returned.status_code == 200, returned.text
    body = (await client.get(url, params={"strategy": strategy_key}, headers=bearer(tokens["VP"]))).json()
    assert [s["state"] for s in body["slots"] if s["code"] == "1.1.1"] == ["returned"]


async def test_the_due_date_an_admin_sets_decides_what_is_late(client, tokens, strategy_key):
    params = {"strategy": strategy_key}
    today = dt.datetime.now(dt.UTC).date()
    dates = {"opens_on": str(today - dt.timedelta(days=30)), "due_on": str(today + dt.timedelta(days=30))}
    agency = await client.put("/api/v1/reporting/2024/dates", json=dates, params=params, headers=bearer(tokens["VP"]))
    assert_problem(agency, 403)
    response = await client.put("/api/v1/reporting/2024/dates", json=dates, params=params,
                                headers=bearer(tokens["admin"]))  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["due_on"] == dates["due_on"]
    body = (await client.get("/api/v1/reporting/2024", params=params, headers=bearer(tokens["VP"]))).json()
    assert {s["state"] for s in body["slots"]} == {"due"}

    backwards = {"opens_on": dates["due_on"], "due_on": dates["opens_on"]}
    refused = await client.put("/api/v1/reporting/2024/dates", json=backwards, params=params,
                               headers=bearer(tokens["admin"]))  # fmt: skip
    assert_problem(refused, 422, "the opening comes first")


async def test_an_agency_sees_only_its_own_slots_and_an_admin_every_institutions(client, tokens, strategy_key):
    params = {"strategy": strategy_key, "institution": "VRS"}
    assert_problem(await client.get("/api/v1/reporting/2023", params=params, headers=bearer(tokens["VP"])), 403)
    every = await client.get("/api/v1/reporting/2023", params={"strategy": strategy_key},
                             headers=bearer(tokens["admin"]))  # fmt: skip
    assert every.json()["institution"] is None
    owed = {code for s in every.json()["slots"] for code in s["owed_by"]}
    assert {"VP", "VRS", "VUGD", "PMLP"} <= owed
    assert (await client.get("/api/v1/reporting/2023", params={"strategy": strategy_key})).status_code == 401
    outside = await client.get("/api/v1/reporting/2030", params={"strategy": strategy_key},
                               headers=bearer(tokens["admin"]))  # fmt: skip
    assert_problem(outside, 404)


async def test_a_closed_year_refuses_every_write_until_it_is_reopened(client, tokens, strategy_key):
    params = {"strategy": strategy_key}
    admin = bearer(tokens["admin"])
    posted = await post(client, tokens["VP"], "1.1.2", 2025, "83%")
    assert posted.status_code == 201
    assert_problem(await client.post("/api/v1/reporting/2025/close", params=params, headers=bearer(tokens["VP"])), 403)
    closed = await client.post("/api/v1/reporting/2025/close", params=params, headers=admin)
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed"] is True and closed.json()["closed_by"].startswith("admin:- (token ")
    assert_problem(await client.post("/api/v1/reporting/2025/close", params=params, headers=admin), 409, "already")

    late = await post(client, tokens["VP"], "1.1.3", 2025, 22)
    assert_problem(late, 409, "Reporting year 2025 is closed", f"closed by {closed.json()['closed_by']}")
    assert late.json()["code"] == "PERIOD_CLOSED"
    correction = await post(client, tokens["VP"], "1.1.2", 2025, "84%", **{"If-Match": posted.headers["etag"]})
    assert_problem(correction, 409, "2025 is closed")
    ind = await indicator(client, "1.1.2")
    approve = await client.post(f"/api/v1/indicators/{ind}/measurements/2025/approve", headers=admin)
    assert_problem(approve, 409, "2025 is closed")
    csv = "indicator_code,year,institution,value,comment\n1.1.3,2025,,22,\n"
    imported = await client.post("/api/v1/measurements/import", params=params, content=csv.encode(),
                                 headers=bearer(tokens["VP"]) | {"content-type": "text/csv"})  # fmt: skip
    assert_problem(imported, 409, "2025 is closed")
    mutation = "mutation($id: ID!) { recordMeasurement(input: {indicatorId: $id, year: 2025, number: 22}) { year } }"
    variables = {"id": await indicator(client, "1.1.3")}
    answer = await client.post(
        "/graphql", json={"query": mutation, "variables": variables}, headers=bearer(tokens["VP"])
    )
    assert answer.json()["errors"][0]["extensions"]["code"] == "PERIOD_CLOSED", answer.text
    reviews = {
        "approve": "mutation($id: ID!) { approveMeasurement(indicatorId: $id, year: 2025) { year } }",
        "return": 'mutation($id: ID!) { returnMeasurement(indicatorId: $id, year: 2025, comment: "why") { year } }',
    }
    for review in reviews.values():
        refused = await client.post("/graphql", json={"query": review, "variables": {"id": ind}}, headers=admin)
        assert refused.json()["errors"][0]["extensions"]["code"] == "PERIOD_CLOSED", refused.text
    workbook = Workbook()
    workbook.active.append(["indicator_code", "year", "institution", "value", "comment"])
    workbook.active.append(["1.1.3", 2025, None, 22, None])
    saved = io.BytesIO()
    workbook.save(saved)
    imported_xlsx = await client.post("/api/v1/measurements/import", params=params, content=saved.getvalue(),
                                      headers=bearer(tokens["VP"]) | {"content-type": XLSX_MEDIA_TYPE})  # fmt: skip
    assert_problem(imported_xlsx, 409, "2025 is closed")
    qualitative = await indicator(client, "4.1.1")  # `Palielinās`: a status only an admin's assessment sets
    assessed = await client.post(f"/api/v1/indicators/{qualitative}/assessments", headers=admin,
                                 json={"year": 2025, "status": "on_track"})  # fmt: skip
    assert_problem(assessed, 409, "2025 is closed")
    other_year = await post(client, tokens["VP"], "1.1.3", 2024, 24)
    assert other_year.status_code == 201  # only 2025 is closed

    assert_problem(await client.post("/api/v1/reporting/2025/reopen", params=params, json={}, headers=admin), 422)
    reopened = await client.post("/api/v1/reporting/2025/reopen", params=params,
                                 json={"reason": "the 2025 census was revised"}, headers=admin)  # fmt: skip
    assert reopened.status_code == 200 and reopened.json()["closed"] is False
    assert (await post(client, tokens["VP"], "1.1.3", 2025, 22)).status_code == 201

    period_id = None
    audit = (
        await client.get("/api/v1/audit", params={"entity": "reporting_period", "limit": 500}, headers=admin)
    ).json()
    entries = [e for e in audit["items"] if e["after"]["year"] == 2025 and e["action"] in ("close", "reopen")]
    period_id = entries[-1]["entity_id"]
    assert [e["action"] for e in entries if e["entity_id"] == period_id][-2:] == ["close", "reopen"]
    assert entries[-1]["after"]["reason"] == "the 2025 census was revised"


async def test_closing_and_reopening_a_year_are_events_a_webhook_can_subscribe_to(client, tokens, sessionmaker):
    params, admin = {"strategy": KEY}, bearer(tokens["admin"])
    assert (await client.post("/api/v1/reporting/2026/close", params=params, headers=admin)).status_code == 200
    reopened = await client.post(
        "/api/v1/reporting/2026/reopen", params=params, json={"reason": "a late census"}, headers=admin
    )
    assert reopened.status_code == 200
    async with sessionmaker() as session:
        rows = await session.execute(
            text("SELECT type, data FROM outbox_event WHERE data->>'entity' = 'reporting_period' ORDER BY seq")
        )
        events = [(kind, data["object"]["year"]) for kind, data in rows if data["object"]["year"] == 2026]
    assert events == [("reporting_year.closed", 2026), ("reporting_year.reopened", 2026)]


async def upload(client, token: str, strategy_key: str, body: str):
    return await client.post("/api/v1/measurements/import", params={"strategy": strategy_key}, content=body.encode(),
                             headers=bearer(token) | {"content-type": "text/csv"})  # fmt: skip


async def test_an_unchanged_template_uploads_again_after_its_year_closed(client, tokens, strategy_key, sql_statements):
    """The CSV template holds every year, a closed one pre-filled: sent back as it came, it is accepted and writes
    nothing; a change to the closed year refuses the whole file."""
    params = {"strategy": strategy_key}
    admin = bearer(tokens["admin"])
    assert (await post(client, tokens["VP"], "1.1.3", 2023, 21)).status_code == 201
    before = await client.get("/api/v1/measurements/template.csv", params=params, headers=bearer(tokens["VP"]))
    empty = [r for r in csv.DictReader(io.StringIO(before.text)) if r["year"] == "2023" and not r["value"]]
    for row in [r for r in empty if r["indicator_code"] != "1.2.1" and not r["institution"]][:3]:  # more rows of 2023
        assert (await post(client, tokens["VP"], row["indicator_code"], 2023, 1)).status_code == 201, row
    assert (await client.post("/api/v1/reporting/2023/close", params=params, headers=admin)).status_code == 200
    template = await client.get("/api/v1/measurements/template.csv", params=params, headers=bearer(tokens["VP"]))
    rows = list(csv.DictReader(io.StringIO(template.text)))
    assert [r["value"] for r in rows if (r["indicator_code"], r["year"]) == ("1.1.3", "2023")] == ["21"]

    sql_statements.statements.clear()
    again = await upload(client, tokens["VP"], strategy_key, template.text)
    assert again.status_code == 200, again.text
    year_checks = [s for s in sql_statements.statements if "pg_advisory_xact_lock_shared" in s]
    assert len(year_checks) == len({r["year"] for r in rows if r["value"]})  # once a year, not once a row
    assert again.json()["written"] == 0 and again.json()["unchanged"] == sum(1 for r in rows if r["value"])

    for row in rows:
        if (row["indicator_code"], row["year"]) == ("1.1.3", "2023"):
            row["value"] = "20"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    assert_problem(await upload(client, tokens["VP"], strategy_key, out.getvalue()), 409, "2023 is closed")
    reopened = await client.post("/api/v1/reporting/2023/reopen", params=params, headers=admin,
                                 json={"reason": "the test leaves the year open"})  # fmt: skip
    assert reopened.status_code == 200


async def test_an_exception_lets_one_institution_write_a_closed_year(client, tokens, strategy_key):
    params = {"strategy": strategy_key}
    admin = bearer(tokens["admin"])
    assert (await client.post("/api/v1/reporting/2026/close", params=params, headers=admin)).status_code == 200
    assert_problem(await post(client, tokens["VP"], "1.1.1", 2026, "87%"), 409, "2026 is closed")
    until = str(dt.datetime.now(dt.UTC).date() + dt.timedelta(days=7))
    granted = await client.post("/api/v1/reporting/2026/exceptions", params=params, headers=admin,
                                json={"institution": "VP", "until": until, "reason": "late survey"})  # fmt: skip
    assert granted.status_code == 200, granted.text
    assert granted.json()["exceptions"] == [
        {"institution": "VP", "until": until, "reason": "late survey", "granted_by": "admin:-"}
    ]
    assert (await post(client, tokens["VP"], "1.1.1", 2026, "87%")).status_code == 201
    ind = await indicator(client, "1.1.1")
    approved = await client.post(f"/api/v1/indicators/{ind}/measurements/2026/approve", headers=admin)
    assert approved.status_code == 200, approved.text  # VP's value, under VP's exception
    # VRS has no exception: the year stays closed for it.
    assert_problem(await post(client, tokens["VRS"], "2.1.1", 2026, "55%"), 409, "2026 is closed")

    expired = str(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))
    await client.post("/api/v1/reporting/2026/exceptions", params=params, headers=admin,
                      json={"institution": "VP", "until": expired, "reason": "over"})  # fmt: skip
    assert_problem(await post(client, tokens["VP"], "1.1.2", 2026, "86%"), 409, "2026 is closed")
    audit = (await client.get("/api/v1/audit", params={"entity": "reporting_exception"}, headers=admin)).json()
    assert [e["after"]["until"] for e in audit["items"]][-2:] == [until, expired]


async def waiting_for_an_advisory_lock(sessionmaker) -> None:
    """Until some backend waits for an advisory lock (bounded: the test fails rather than hangs)."""
    async with sessionmaker() as observer:
        for _ in range(400):
            waiting = await observer.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )
            if waiting:
                return
            await observer.rollback()
            await asyncio.sleep(0.05)
    pytest.fail("the close never waited for the year's lock")


async def test_a_close_waits_for_the_writes_that_found_the_year_open(client, tokens, strategy_key, sessionmaker):
    """A post that passed the check before the close lands before it; every post after the close is refused."""
    ind = await indicator(client, "1.2.1")
    async with sessionmaker() as writer, sessionmaker() as closer:
        strategy_id = await resolve_strategy_id(writer, KEY)
        agency = await principal_of(writer, f"Bearer {tokens['VP']}", None)
        admin = await principal_of(closer, f"Bearer {tokens['admin']}", None)
        ctx = await values.indicator_context(writer, uuid.UUID(ind))
        posting = await revisions.prepare(writer, agency, ctx, MeasurementIn(year=2023, value="45"))  # the year is open
        closing = asyncio.create_task(periods.close(closer, admin, strategy_id, 2023))
        await waiting_for_an_advisory_lock(sessionmaker)
        assert not closing.done()
        await revisions.append_revision(writer, agency, posting, None)
        await writer.commit()
        assert (await closing).closed
        await closer.commit()
    history = await client.get(f"/api/v1/indicators/{ind}/measurements/2023/history")
    assert [r["text"] for r in history.json()["items"]] == ["45"]
    assert_problem(await post(client, tokens["VP"], "1.2.1", 2023, 44), 409, "2023 is closed")


async def test_graphql_reporting_is_the_same_calendar(client, tokens, strategy_key):
    query = """query($key: String!) { reporting(year: 2024, strategy: $key) {
        year dueOn closed institution counts { total due late } slots { code state owedBy revision } } }"""
    body = {"query": query, "variables": {"key": KEY}}
    answer = (await client.post("/graphql", json=body, headers=bearer(tokens["VP"]))).json()["data"]["reporting"]
    rest = (await client.get("/api/v1/reporting/2024", params={"strategy": KEY}, headers=bearer(tokens["VP"]))).json()
    assert (answer["dueOn"], answer["institution"], answer["counts"]["total"]) == (
        rest["period"]["due_on"], "VP", rest["counts"]["total"],
    )  # fmt: skip
    rest_slots = [(s["code"], s["state"].upper()) for s in rest["slots"]]
    assert [(s["code"], s["state"]) for s in answer["slots"]] == rest_slots
    anonymous = (await client.post("/graphql", json=body)).json()
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
