"""The strategy over REST and GraphQL: filters, errors, and the bounded cost of the whole tree."""

import json
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import delete

from service.seed.loader import DEFAULT_DATA_DIR, institution_ids, load_strategy, read_strategy
from service.strategy.models import Strategy
from tests.helpers import graphql

TREE_QUERY = """
query Tree {
  strategies { edges { node {
    id title { lv en } periodStart periodEnd baselineYear
    areas {
      id number code kind title { lv en }
      goals {
        id title { lv en } institutions { code }
        indicators {
          id rowId code name { lv en } unit direction
          baseline { year value text institution { code } }
          targets { year value text institution { code } footnotes { number } }
          footnotes { number text }
        }
      }
      actionDirections { id title { lv en } tasks { number text { lv en } institutions { code } footnotes { number } } }
    }
    swot { kind text { lv } }
  } } }
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
    (strategy,) = [edge["node"] for edge in data["strategies"]["edges"]]
    goal = strategy["areas"][1]["goals"][0]
    assert [i["code"] for i in goal["institutions"]] == ["VRS", "NVA"]
    indicator = goal["indicators"][0]
    assert indicator["baseline"] == [{"year": 2021, "value": 52.33, "text": "52,33%", "institution": None}]
    rest = (await client.get(f"/api/v1/indicators/{indicator['rowId']}")).json()
    assert [t["text"] for t in rest["targets"]] == [t["text"] for t in indicator["targets"]]
    assert len(strategy["swot"]) == 17
    assert (await graphql(client, '{ strategy(id: "nope") { id } }'))["errors"][0]["extensions"]["code"] == (
        "BAD_USER_INPUT"
    )


@asynccontextmanager
async def synthetic_strategies(session, periods: dict[str, int]):
    """Copies of the sector strategy under the given keys and period starts, deleted afterwards."""
    seed = read_strategy(DEFAULT_DATA_DIR / "strategy-2023-2027.yaml")
    institutions = await institution_ids(session)
    await session.commit()
    async with session.begin():
        for key, period_start in periods.items():
            copy = seed.strategy.model_copy(update={"key": key, "period_start": period_start})
            await load_strategy(session, seed.model_copy(update={"strategy": copy}), institutions)
    try:
        yield
    finally:
        async with session.begin():
            await session.execute(delete(Strategy).where(Strategy.key.in_(periods)))


async def test_the_whole_tree_costs_the_same_for_one_strategy_as_for_many(client, session, sql_statements):
    sql_statements.reset()
    await graphql(client, TREE_QUERY, uncached=True)
    one = sql_statements.count

    async with synthetic_strategies(session, {f"synthetic-{n:02d}": 2023 for n in range(12)}):
        sql_statements.reset()
        body = await graphql(client, TREE_QUERY, uncached=True)
        strategies = [edge["node"] for edge in body["data"]["strategies"]["edges"]]
        assert len(strategies) == 13
        assert sum(len(a["goals"]) for s in strategies for a in s["areas"]) == 13 * 12
        assert sql_statements.count == one <= 14, sql_statements.statements


PAGE_QUERY = """
query Page($after: String) {
  strategies(first: 1, after: $after) {
    edges { cursor node { key periodStart } } pageInfo { hasNextPage endCursor } totalCount
  }
}
"""


async def test_strategies_page_one_at_a_time_in_period_then_key_order(client, session):
    periods = {"synthetic-b": 2023, "synthetic-a": 2023, "synthetic-later": 2024, "synthetic-earlier": 2022}
    async with synthetic_strategies(session, periods):
        listed = (await client.get("/api/v1/strategies")).json()["items"]
        expected = [(s["period_start"], s["key"]) for s in listed]
        assert expected == sorted(expected)
        assert len(expected) == 5 and expected[0] == (2022, "synthetic-earlier") and expected[-1][0] == 2024
        seen, after = [], None
        for _ in range(len(expected) + 1):
            page = (await graphql(client, PAGE_QUERY, uncached=True, after=after))["data"]["strategies"]
            assert page["totalCount"] == 5
            (edge,) = page["edges"]
            seen.append((edge["node"]["periodStart"], edge["node"]["key"]))
            assert page["pageInfo"]["endCursor"] == edge["cursor"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == expected


@pytest.mark.parametrize("first", [0, 501])
async def test_a_strategies_page_outside_1_to_500_is_refused(client, first):
    body = await graphql(client, "query Page($first: Int!) { strategies(first: $first) { totalCount } }", first=first)
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "between 1 and 500" in error["message"]


PAGE = """query($after: String) { FIELD(first: 7, after: $after) {
  edges { cursor node { rowId } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


async def test_indicators_and_tasks_page_as_relay_connections(client):
    for field in ("indicators", "tasks"):
        whole = await graphql(client, f"{{ {field} {{ edges {{ node {{ rowId }} }} pageInfo {{ hasNextPage }} }} }}")
        everything = [edge["node"]["rowId"] for edge in whole["data"][field]["edges"]]
        assert len(everything) > 7 and not whole["data"][field]["pageInfo"]["hasNextPage"]
        seen: list[str] = []
        after = None
        while True:
            page = (await graphql(client, PAGE.replace("FIELD", field), after=after))["data"][field]
            info = page["pageInfo"]
            assert info["hasPreviousPage"] == (after is not None)
            assert (info["startCursor"], info["endCursor"]) == (page["edges"][0]["cursor"], page["edges"][-1]["cursor"])
            seen += [edge["node"]["rowId"] for edge in page["edges"]]
            if not info["hasNextPage"]:
                break
            after = info["endCursor"]
        assert seen == everything, field  # the pages, joined by their cursors, are the whole list in its order


BACKWARD = """query($last: Int, $before: String) { FIELD(last: $last, before: $before) {
  edges { cursor node { rowId } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


async def _walk_backward(client, field: str, last: int) -> tuple[list[str], list[dict]]:
    """Every page of `field` from the end with `last` / `before`, and the rows they hold in listing order."""
    walked, pages, before = [], [], None
    while True:
        page = (await graphql(client, BACKWARD.replace("FIELD", field), last=last, before=before))["data"][field]
        info = page["pageInfo"]
        assert (info["startCursor"], info["endCursor"]) == (page["edges"][0]["cursor"], page["edges"][-1]["cursor"])
        assert info["hasNextPage"] == (before is not None)
        pages.append(page)
        walked = [edge["node"]["rowId"] for edge in page["edges"]] + walked
        if not info["hasPreviousPage"]:
            return walked, pages
        before = info["startCursor"]


async def test_indicators_and_tasks_page_backward_from_the_end_to_meet_the_forward_order(client):
    """`last` / `before` (Relay's backward pagination): each page in document order, the pages joined by their
    cursors the whole forward listing; `after` and `before` together bound a window; `first` and `last` together
    are refused."""
    for field in ("indicators", "tasks"):
        forward = (await graphql(client, f"{{ {field} {{ edges {{ cursor node {{ rowId }} }} }} }}"))["data"][field]
        everything = [edge["node"]["rowId"] for edge in forward["edges"]]
        walked, pages = await _walk_backward(client, field, 7)
        assert walked == everything, field
        assert [len(page["edges"]) for page in pages][:-1] == [7] * (len(pages) - 1), field  # the listing's start short
        a, b = forward["edges"][2]["cursor"], forward["edges"][6]["cursor"]
        between = await graphql(
            client, f"query($a: String, $b: String) {{ {field}(after: $a, before: $b) {{ edges {{ node {{ rowId }} }} "
            "pageInfo { hasNextPage hasPreviousPage } } }", a=a, b=b,
        )  # fmt: skip
        assert [e["node"]["rowId"] for e in between["data"][field]["edges"]] == everything[3:6]
        assert between["data"][field]["pageInfo"]["hasPreviousPage"] is True
        both = await graphql(client, f"{{ {field}(first: 5, last: 5) {{ edges {{ cursor }} }} }}")
        assert (
            both["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "not both" in both["errors"][0]["message"]
        )
        too_many = await graphql(client, f"{{ {field}(last: 501) {{ edges {{ cursor }} }} }}")
        assert "between 1 and 500" in too_many["errors"][0]["message"]


async def test_strategies_page_backward_in_period_then_key_order(client, session):
    periods = {"synthetic-b": 2023, "synthetic-a": 2023, "synthetic-later": 2024, "synthetic-earlier": 2022}
    async with synthetic_strategies(session, periods):
        listed = [s["id"] for s in (await client.get("/api/v1/strategies")).json()["items"]]
        walked, pages = await _walk_backward(client, "strategies", 2)
        assert walked == listed and [len(page["edges"]) for page in pages] == [2, 2, 1]
        default = await graphql(client, "{ strategies { edges { node { rowId } } pageInfo { hasPreviousPage } } }")
        assert [e["node"]["rowId"] for e in default["data"]["strategies"]["edges"]] == listed  # the first 20
        assert default["data"]["strategies"]["pageInfo"]["hasPreviousPage"] is False


AREAS = """{ strategies(first: 1) { edges { node {
  areas { id rowId code goals { number } actionDirections { id rowId number title { lv } tasks { number } } }
} } } }"""
AREA_NODE = "... on PolicyArea { id rowId code goals { number } actionDirections { id rowId number title { lv } " \
    "tasks { number } } }"  # fmt: skip
DIRECTION_NODE = "... on ActionDirection { id rowId number title { lv } tasks { number } }"


async def test_policy_areas_and_action_directions_are_nodes_refetched_by_their_global_id(client, sql_statements):
    """A policy area and an action direction have a global `id` (`node(id:)` answers them as the strategy tree
    does) and the REST id as `rowId`; `nodes(ids:)` reads each type once, however many ids it is given."""
    (strategy,) = [e["node"] for e in (await graphql(client, AREAS))["data"]["strategies"]["edges"]]
    areas = strategy["areas"]
    rest = await client.get(f"/api/v1/strategies/{(await client.get('/api/v1/strategies')).json()['items'][0]['id']}")
    assert [area["rowId"] for area in areas] == [area["id"] for area in rest.json()["areas"]]
    directions = [d for area in areas for d in area["actionDirections"]]
    assert [d["rowId"] for d in directions] == [d["id"] for a in rest.json()["areas"] for d in a["action_directions"]]
    assert areas[0]["id"] != areas[0]["rowId"]
    refetched = await graphql(client, f'{{ node(id: "{areas[1]["id"]}") {{ {AREA_NODE} }} }}')
    assert refetched["data"]["node"] == areas[1]
    refetched = await graphql(client, f'{{ node(id: "{directions[0]["id"]}") {{ {DIRECTION_NODE} }} }}')
    assert refetched["data"]["node"] == directions[0]

    async def statements(count: int) -> int:
        ids = [area["id"] for area in areas[:count]] + [d["id"] for d in directions[:count]]
        sql_statements.reset()
        answer = await graphql(client, f"{{ nodes(ids: {json.dumps(ids)}) {{ {AREA_NODE} {DIRECTION_NODE} }} }}")
        assert answer["data"]["nodes"] == areas[:count] + directions[:count]
        return sql_statements.count

    assert await statements(1) == await statements(len(areas)) and len(directions) >= len(areas)


async def test_a_strategys_global_id_filters_as_its_key_and_rest_id_do(client):
    """`IndicatorFilter.strategy` and `progressSummary(strategy:)` take "id or key": the node's `id` too."""
    strategy = (await graphql(client, "{ strategies(first: 1) { edges { node { id rowId key } } } }"))["data"]
    node = strategy["strategies"]["edges"][0]["node"]
    query = """query($s: String) { indicators(filter: {strategy: $s}) { totalCount }
                                   tasks(filter: {strategy: $s}) { totalCount }
                                   progressSummary(year: 2024, strategy: $s) { year } }"""
    answers = [(await graphql(client, query, s=node[name]))["data"] for name in ("key", "rowId", "id")]
    assert answers[0] == answers[1] == answers[2]
    listed = await graphql(
        client,
        "query($s: String) { indicators(filter: {strategy: $s}) { edges { cursor } } "
        "tasks(filter: {strategy: $s}) { edges { cursor } } }",
        s=node["key"],
    )
    assert answers[0]["indicators"]["totalCount"] == len(listed["data"]["indicators"]["edges"]) >= 30
    assert answers[0]["tasks"]["totalCount"] == len(listed["data"]["tasks"]["edges"]) >= 100
