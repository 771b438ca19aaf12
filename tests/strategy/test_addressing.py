"""Indicators addressed by their code, tasks by their id: the same answers as the lists give."""

import uuid

from sqlalchemy import delete

from service.strategy.models import Goal, Indicator, PolicyArea, Strategy

PROBLEM = "application/problem+json"


async def _seeded_indicator(client, code: str) -> dict:
    items = (await client.get("/api/v1/indicators", params={"limit": 500})).json()["items"]
    (indicator,) = [i for i in items if i["code"] == code]
    return indicator


async def test_an_indicator_by_code_is_the_indicator_by_id(client):
    listed = await _seeded_indicator(client, "1.1.1")
    by_code = await client.get("/api/v1/indicators/by-code/1.1.1")
    assert by_code.status_code == 200, by_code.text
    assert by_code.json() == (await client.get(f"/api/v1/indicators/{listed['id']}")).json() == listed
    again = await client.get("/api/v1/indicators/by-code/1.1.1", headers={"If-None-Match": by_code.headers["etag"]})
    assert again.status_code == 304


async def test_an_unknown_or_malformed_code_is_a_problem_not_a_crash(client):
    unknown = await client.get("/api/v1/indicators/by-code/9.9.9")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    assert "9.9.9" in unknown.json()["detail"]
    malformed = await client.get("/api/v1/indicators/by-code/1;1")
    assert malformed.status_code == 422 and malformed.headers["content-type"] == PROBLEM


async def test_a_code_two_strategies_use_asks_which_strategy(client, session):
    sector = await _seeded_indicator(client, "1.1.1")
    strategy = Strategy(id=uuid.uuid4(), key="vp-own-2024", title={"lv": "VP stratēģija"}, period_start=2024,
                        period_end=2027, baseline_year=2023)  # fmt: skip
    area = PolicyArea(id=uuid.uuid4(), strategy_id=strategy.id, code="1", position=1, kind="policy", title={"lv": "A"})
    goal = Goal(id=uuid.uuid4(), area_id=area.id, number=1, title={"lv": "M"})
    own = Indicator(id=uuid.uuid4(), strategy_id=strategy.id, goal_id=goal.id, code="1.1.1", number=1,
                    name={"lv": "Rādītājs"}, unit="percent", direction="higher_is_better",
                    sort_key="vp-own-2024/01/01/01")  # fmt: skip
    for row in (strategy, area, goal, own):
        session.add(row)
        await session.flush()
    await session.commit()
    try:
        ambiguous = await client.get("/api/v1/indicators/by-code/1.1.1")
        assert ambiguous.status_code == 409 and ambiguous.headers["content-type"] == PROBLEM
        assert "vp-own-2024" in ambiguous.json()["detail"] and "?strategy=" in ambiguous.json()["detail"]
        chosen = await client.get("/api/v1/indicators/by-code/1.1.1", params={"strategy": "vp-own-2024"})
        assert chosen.json()["id"] == str(own.id)
        by_id = await client.get("/api/v1/indicators/by-code/1.1.1", params={"strategy": sector["strategy_id"]})
        assert by_id.json()["id"] == sector["id"]
    finally:
        await session.execute(delete(Strategy).where(Strategy.id == strategy.id))
        await session.commit()


async def test_a_task_by_id_is_the_task_the_list_gives(client):
    listed = (await client.get("/api/v1/tasks", params={"limit": 3})).json()["items"][2]
    response = await client.get(f"/api/v1/tasks/{listed['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == listed
    assert (await client.get(f"/api/v1/tasks/{listed['id']}", headers={"If-None-Match": response.headers["etag"]})
            ).status_code == 304  # fmt: skip
    missing = await client.get(f"/api/v1/tasks/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
