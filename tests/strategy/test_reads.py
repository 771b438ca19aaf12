"""The one read path: GraphQL loads the parts of the tree an operation selects (fragments and aliases included),
nothing else, and the fields below the root give what the same tree over REST gives."""

import re

from tests.helpers import bearer, graphql

STRATEGY_KEY = "iekslietu-nozares-strategija-2023-2027"
TABLE = re.compile(r"\bFROM (\w+)")


def _tables(statements: list[str]) -> set[str]:
    return {table for statement in statements for table in TABLE.findall(statement)}


async def _strategy_id(client) -> str:
    listed = (await client.get("/api/v1/strategies")).json()["items"]
    return next(s["id"] for s in listed if s["key"] == STRATEGY_KEY)


async def test_only_the_parts_asked_are_read(client, sql_statements):
    sql_statements.reset()
    body = await graphql(client, "{ strategies { edges { node { key title { lv } } } } }", uncached=True)
    assert [e["node"]["key"] for e in body["data"]["strategies"]["edges"]] == [STRATEGY_KEY]
    tables = _tables(sql_statements.statements)
    assert "strategy" in tables
    assert not tables & {"policy_area", "goal", "indicator", "indicator_value", "task", "measurement", "institution"}

    sql_statements.reset()
    body = await graphql(client, "{ strategies { edges { node { areas { goals { number } } } } } }", uncached=True)
    assert body["data"]["strategies"]["edges"][0]["node"]["areas"][1]["goals"][0]["number"] == 1
    assert _tables(sql_statements.statements) & {"indicator", "measurement", "institution"} == set()


INDICATOR_FIELDS = "code baseline { text institution { code } } actuals { year institution { code } }"


async def test_fragments_and_aliases_ask_as_much_as_the_fields_themselves(client):
    plain = await graphql(
        client,
        f'{{ indicators(filter: {{area: "2"}}) {{ edges {{ node {{ {INDICATOR_FIELDS} }} }} }} }}',
        uncached=True,
    )
    through_fragments = await graphql(
        client,
        """
        query { indicators(filter: {area: "2"}) { edges { node {
          ...Codes ... on Indicator { baseline { text institution { code } } }
          a: actuals { year } actuals { institution { code } } } } } }
        fragment Codes on Indicator { code actuals { year } }
        """,
        uncached=True,
    )
    assert "errors" not in through_fragments, through_fragments
    nodes = [[edge["node"] for edge in answer["data"]["indicators"]["edges"]] for answer in (plain, through_fragments)]
    for expected, got in zip(*nodes, strict=True):
        assert got["code"] == expected["code"] and got["baseline"] == expected["baseline"]
        assert got["actuals"] == expected["actuals"]
        assert got["a"] == [{"year": a["year"]} for a in expected["actuals"]]


async def test_an_indicator_s_goal_and_a_strategy_s_parent_carry_their_own_subtrees(client, tokens):
    strategy_id = await _strategy_id(client)
    tree = (await client.get(f"/api/v1/strategies/{strategy_id}")).json()
    goal = tree["areas"][1]["goals"][0]
    indicator_id = goal["indicators"][0]["id"]
    answer = await graphql(
        client,
        "query($id: ID!) { indicator(id: $id) { goal { number institutions { code } indicators { code } } } }",
        uncached=True,
        id=indicator_id,
    )
    assert answer["data"]["indicator"]["goal"] == {
        "number": goal["number"],
        "institutions": [{"code": i["code"]} for i in goal["institutions"]],
        "indicators": [{"code": i["code"]} for i in goal["indicators"]],
    }

    admin = bearer(tokens["admin"])
    body = {"key": "reads-cascaded", "title": {"lv": "Kaskadēta stratēģija"}, "period_start": 2023,
            "period_end": 2027, "baseline_year": 2021, "parent": STRATEGY_KEY, "owner": "VRS"}  # fmt: skip
    created = await client.post("/api/v1/strategies", json=body, headers=admin)
    assert created.status_code == 201, created.text
    try:
        answer = await graphql(
            client,
            "query($id: ID!) { strategy(id: $id) { key areas { code } owner { code } "
            "parent { key owner { code } areas { code goals { number } } swot { kind } } } }",
            uncached=True,
            id=created.json()["id"],
        )
        strategy = answer["data"]["strategy"]
        assert (strategy["key"], strategy["areas"], strategy["owner"]) == ("reads-cascaded", [], {"code": "VRS"})
        parent = strategy["parent"]
        assert parent["key"] == STRATEGY_KEY and parent["owner"] is None
        assert [a["code"] for a in parent["areas"]] == [a["code"] for a in tree["areas"]]
        assert [len(a["goals"]) for a in parent["areas"]] == [len(a["goals"]) for a in tree["areas"]]
        assert [s["kind"] for s in parent["swot"]] == [s["kind"] for s in tree["swot"]]
    finally:
        own = f"/api/v1/strategies/{created.json()['id']}"
        deleted = await client.delete(own, headers=admin | {"If-Match": created.headers["etag"]})
        assert deleted.status_code == 204


async def test_the_graphql_tree_is_the_rest_tree(client):
    strategy_id = await _strategy_id(client)
    rest = (await client.get(f"/api/v1/strategies/{strategy_id}")).json()
    answer = await graphql(
        client,
        """query($id: ID!) { strategy(id: $id) { areas { code goals { institutions { code } indicators {
             code footnotes { number text } targets { year text value institution { code } footnotes { number } } } }
             actionDirections { tasks { number institutionRoles { writtenAs role institution { code } } } } } } }""",
        uncached=True,
        id=strategy_id,
    )
    areas = answer["data"]["strategy"]["areas"]
    for rest_area, area in zip(rest["areas"], areas, strict=True):
        for rest_goal, goal in zip(rest_area["goals"], area["goals"], strict=True):
            assert goal["institutions"] == [{"code": i["code"]} for i in rest_goal["institutions"]]
            for rest_indicator, indicator in zip(rest_goal["indicators"], goal["indicators"], strict=True):
                assert indicator["footnotes"] == rest_indicator["footnotes"]
                assert indicator["targets"] == [
                    {"year": t["year"], "text": t["text"], "value": t["value"],
                     "institution": {"code": t["institution"]["code"]} if t["institution"] else None,
                     "footnotes": [{"number": n["number"]} for n in t["footnotes"]]}
                    for t in rest_indicator["targets"]
                ]  # fmt: skip
        for rest_direction, direction in zip(rest_area["action_directions"], area["actionDirections"], strict=True):
            assert [t["institutionRoles"] for t in direction["tasks"]] == [
                [{"writtenAs": i["written_as"], "role": i["role"] and i["role"].upper(),
                  "institution": {"code": i["institution"]["code"]}}
                 for i in t["institutions"]]
                for t in rest_direction["tasks"]
            ]  # fmt: skip
