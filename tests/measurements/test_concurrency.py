"""Races between real concurrent requests on the real database: none is a 500, none loses or doubles a value."""

import asyncio

from sqlalchemy import text

from tests.helpers import assert_problem, bearer, graphql, indicator_id, post_measurement

ROUNDS, ROWS = 4, 3


async def history(client, code: str, year: int) -> list[dict]:
    ind = await indicator_id(client, code)
    response = await client.get(f"/api/v1/indicators/{ind}/measurements/{year}/history")
    return response.json()["items"] if response.status_code == 200 else []


async def test_twenty_blind_corrections_with_if_match_star_are_all_refused(client, tokens):
    first = await post_measurement(client, "4.2.2", tokens["admin"], {"year": 2025, "value": "3,4"})
    assert first.status_code == 201, first.text
    url = f"/api/v1/indicators/{await indicator_id(client, '4.2.2')}/measurements"
    blind = bearer(tokens["admin"]) | {"If-Match": "*"}
    results = await asyncio.gather(
        *(client.post(url, json={"year": 2025, "value": str(20 + n)}, headers=blind) for n in range(20))
    )
    for response in results:
        assert_problem(response, 428, "ETag of the current revision", first.headers["etag"])
    assert [r["text"] for r in await history(client, "4.2.2", 2025)] == ["3,4"]

    mutation = """mutation($input: RecordMeasurementInput!) { recordMeasurement(input: $input) { revision } }"""
    variables = {"input": {"indicatorId": await indicator_id(client, "4.2.2"), "year": 2025, "value": "13",
                           "ifMatch": "*"}}  # fmt: skip
    response = await client.post("/graphql", json={"query": mutation, "variables": variables},
                                 headers=bearer(tokens["admin"]))  # fmt: skip
    assert response.json()["errors"][0]["extensions"]["code"] == "PRECONDITION_REQUIRED"


async def _number_indicators(client) -> list[str]:
    """Codes of indicators taking plain numbers with one value per year (no per-institution values)."""
    items = (await client.get("/api/v1/indicators", params={"limit": 500})).json()["items"]
    return [
        i["code"] for i in items
        if i["targets"] and all(t["kind"] == "number" and t["institution"] is None for t in i["targets"])
    ]  # fmt: skip


async def test_overlapping_imports_in_opposite_row_orders_queue_up_instead_of_deadlocking(client, tokens):
    codes = await _number_indicators(client)
    assert len(codes) >= ROWS * ROUNDS
    headers = bearer(tokens["admin"]) | {"content-type": "text/csv"}
    for round_ in range(ROUNDS):
        slots = codes[ROWS * round_ : ROWS * (round_ + 1)]
        rows = [f"{code},2026,,{100 + n},round {round_}" for n, code in enumerate(slots)]
        files = ["indicator_code,year,institution,value,comment\n" + "\n".join(order) + "\n"
                 for order in (rows, rows[::-1])]  # fmt: skip
        results = await asyncio.gather(
            *(client.post("/api/v1/measurements/import", content=f.encode(), headers=headers) for f in files)
        )
        # One writes the values; the other waits for it, then finds them equal: unchanged, nothing written.
        assert sorted(r.status_code for r in results) == [200, 201], [r.text for r in results]
        assert sorted(r.json()["unchanged"] for r in results) == [0, ROWS]
        for code in slots:
            assert [r["revision"] for r in await history(client, code, 2026)] == [1]


async def test_twelve_concurrent_assessments_all_land_without_a_500(client, tokens, session):
    ind = await indicator_id(client, "4.1.1")
    url = f"/api/v1/indicators/{ind}/assessments"
    statuses = ["on_track", "off_track", "achieved"]
    for round_ in range(2):
        bodies = [{"year": 2026, "status": statuses[n % 3], "comment": f"round {round_} #{n}"} for n in range(12)]
        results = await asyncio.gather(
            *(client.post(url, json=body, headers=bearer(tokens["admin"])) for body in bodies)
        )
        assert [r.status_code for r in results] == [204] * 12, [r.text for r in results if r.status_code != 204]
    stored = (
        await session.execute(
            text("SELECT id, status, comment FROM progress_assessment WHERE indicator_id = :i AND year = 2026"),
            {"i": ind},
        )
    ).all()
    assert len(stored) == 1
    entries = (
        await client.get("/api/v1/audit", params={"entity_id": str(stored[0].id)}, headers=bearer(tokens["admin"]))
    ).json()["items"]
    assert len(entries) == 24
    # Each entry's `before` is the previous one's `after`: the writers queued, none overwrote unseen.
    assert entries[0]["before"] is None
    assert all(later["before"] == earlier["after"] for earlier, later in zip(entries, entries[1:], strict=False))
    assert entries[-1]["after"] == {"status": stored[0].status, "comment": stored[0].comment}
    progress = await graphql(client, "query($i: ID!) { indicator(id: $i) { progress { year status } } }",
                             uncached=True, i=ind)  # fmt: skip
    (year,) = [p for p in progress["data"]["indicator"]["progress"] if p["year"] == 2026]
    assert year["status"] == stored[0].status.upper() or year["status"] == stored[0].status
