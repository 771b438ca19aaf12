"""The strategy over REST and GraphQL: filters, errors, and the bounded cost of the whole tree."""

import pytest
from sqlalchemy import delete

from service.seed.loader import DEFAULT_DATA_DIR, institution_ids, load_strategy, read_strategy
from service.strategy.models import Strategy
from tests.helpers import graphql

TREE_QUERY = """
query Tree {
  strategies {
    id title { lv en } periodStart periodEnd baselineYear
    areas {
      id number code kind title { lv en }
      goals {
        id title { lv en } institutions { code }
        indicators {
          id code name { lv en } unit direction
          baseline { year value text institution { code } }
          targets { year value text institution { code } footnotes { number } }
          footnotes { number text }
        }
      }
      actionDirections { id title { lv en } tasks { number text { lv en } institutions { code } footnotes { number } } }
    }
    swot { kind text { lv } }
  }
}
"""


async def _codes(client, **params) -> list[str]:
    response = await client.get("/api/v1/indicators", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return [i["code"] for i in response.json()["items"]]


async def test_indicator_filters(client):
    assert len(await _codes(client)) == 34
    assert await _codes(client, area="2") == ["2.1.1", "2.1.2", "2.2.1", "2.2.2", "2.2.3"]
    assert await _codes(client, institution="PMLP") == ["5.1.1", "5.1.2", "5.1.3", "5.2.1", "5.2.2", "5.2.3",
                                                        "H1.1.1", "H1.1.2", "H2.1.1", "H2.1.2", "H2.1.3"]  # fmt: skip
    assert await _codes(client, institution="VUGD", area="4") == ["4.1.1", "4.1.2", "4.2.1", "4.2.2", "4.2.3"]
    assert await _codes(client, strategy="iekslietu-nozares-strategija-2023-2027", area="H2") == [
        "H2.1.1", "H2.1.2", "H2.1.3"
    ]  # fmt: skip


async def test_indicator_pages_and_detail(client):
    first = (await client.get("/api/v1/indicators", params={"limit": 20})).json()
    second = (await client.get("/api/v1/indicators", params={"limit": 20, "cursor": first["next_cursor"]})).json()
    assert second["next_cursor"] is None
    codes = [i["code"] for i in first["items"] + second["items"]]
    assert len(codes) == len(set(codes)) == 34
    detail = await client.get(f"/api/v1/indicators/{first['items'][0]['id']}")
    assert detail.json()["code"] == "1.1.1" and [v["year"] for v in detail.json()["targets"]] == [
        2023,
        2024,
        2025,
        2026,
        2027,
    ]
    assert (
        await client.get(detail.request.url.path, headers={"If-None-Match": detail.headers["etag"]})
    ).status_code == 304


async def test_tasks_of_an_institution(client):
    tasks = (await client.get("/api/v1/tasks", params={"institution": "VDD", "limit": 500})).json()["items"]
    assert len(tasks) == 2
    assert all("VDD" in [i["written_as"] for i in t["institutions"]] for t in tasks)
    health = (await client.get("/api/v1/tasks", params={"institution": "IeM VSC", "limit": 500})).json()["items"]
    assert any(i["written_as"] == "VSC" for t in health for i in t["institutions"])
    border = (await client.get("/api/v1/tasks", params={"area": "2", "limit": 500})).json()["items"]
    assert len(border) == 16


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/indicators?institution=NOPE", 404),
        ("/api/v1/indicators?strategy=nope", 404),
        ("/api/v1/indicators/00000000-0000-0000-0000-000000000000", 404),
        ("/api/v1/strategies/00000000-0000-0000-0000-000000000000", 404),
        ("/api/v1/strategies/x", 404),
        ("/api/v1/tasks?cursor=abc", 400),
    ],
)
async def test_strategy_errors_are_problem_json(client, path, status):
    response = await client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json" and response.json()["detail"]


async def test_graphql_tree_matches_rest(client):
    data = (await graphql(client, TREE_QUERY))["data"]
    (strategy,) = data["strategies"]
    goal = strategy["areas"][1]["goals"][0]
    assert [i["code"] for i in goal["institutions"]] == ["VRS", "NVA"]
    indicator = goal["indicators"][0]
    assert indicator["baseline"] == [{"year": 2021, "value": 52.33, "text": "52,33%", "institution": None}]
    rest = (await client.get(f"/api/v1/indicators/{indicator['id']}")).json()
    assert [t["text"] for t in rest["targets"]] == [t["text"] for t in indicator["targets"]]
    assert len(strategy["swot"]) == 17
    assert (await graphql(client, '{ strategy(id: "nope") { id } }'))["errors"][0]["extensions"]["code"] == (
        "BAD_USER_INPUT"
    )


async def test_the_whole_tree_costs_the_same_for_one_strategy_as_for_many(client, session, sql_statements):
    sql_statements.reset()
    await graphql(client, TREE_QUERY, uncached=True)
    one = sql_statements.count

    seed = read_strategy(DEFAULT_DATA_DIR / "strategy-2023-2027.yaml")
    institutions = await institution_ids(session)
    await session.commit()
    keys = [f"synthetic-{n:02d}" for n in range(12)]
    async with session.begin():
        for key in keys:
            data = seed.model_copy(update={"strategy": seed.strategy.model_copy(update={"key": key})})
            await load_strategy(session, data, institutions)
    try:
        sql_statements.reset()
        body = await graphql(client, TREE_QUERY, uncached=True)
        assert len(body["data"]["strategies"]) == 13
        assert sum(len(a["goals"]) for s in body["data"]["strategies"] for a in s["areas"]) == 13 * 12
        assert sql_statements.count == one <= 14, sql_statements.statements
    finally:
        async with session.begin():
            await session.execute(delete(Strategy).where(Strategy.key.in_(keys)))
