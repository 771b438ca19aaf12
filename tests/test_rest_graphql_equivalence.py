"""One truth: every resource both APIs serve gives the same facts in REST and GraphQL, field by field.

Each REST object is walked key by key; the GraphQL object must have the same key (camelCase, or `x { rowId }`
for a REST `x_id`) with an equal value, unless the field is listed below as served by REST alone. A REST `id` is
a node's `rowId` (its GraphQL `id` is the Relay global id), the `id` of a type that is not a node.
So a field GraphQL leaves null while REST fills it (issue 9, item 5), or one a query forgot to select, fails.
"""

import base64
import datetime as dt
import json
import uuid

import httpx
import pytest

from tests.helpers import bearer, graphql, indicator_id, post_measurement

# Fields REST serves and GraphQL does not (by path of REST keys, list positions left out).
ONLY_REST = {
    "institution.notes",
    "strategy.sources",
    "strategy.areas.goals.indicators.strategy_id",
    "strategy.areas.action_directions.tasks.action_direction_id",
    "indicator.strategy_id",
    "task.action_direction_id",
    "actual.indicator_id",
    "actual.kind",
    "progress.indicator_id",
    "progress.code",
    "summary.areas.area_id",
    "summary.goals.goal_id",
}
# REST keys GraphQL names differently.
RENAMED = {
    "strategy.areas.action_directions.tasks.institutions": "institutionRoles",
    "task.institutions": "institutionRoles",
}
ENUMS = {"relation", "kind", "direction", "role", "status", "precision", "since_precision", "until_precision", "basis"}

TEXT = "{ lv en lt original }"
FACT = "{ basis sourceSentence auditEntryId }"
NAME_PROVENANCE = f"name {{ lv {FACT} en {FACT} lt {FACT} original {FACT} }}"
INSTITUTION_REF = "{ rowId code country }"
ORGANIZATION_REF = f"{{ rowId acronym name {TEXT} }}"
FOOTNOTES = "footnotes { number text }"
VALUE = f"{{ year role text kind value pair institution {INSTITUTION_REF} {FOOTNOTES} }}"
ACTUAL = (f"{{ rowId year revision text value pair status comment source postedBy postedBySubject postedByName "
          f"postedAt reviewedBy reviewedBySubject reviewedByName reviewedAt reviewComment previousText "
          f"institution {INSTITUTION_REF} }}")  # fmt: skip
PROGRESS = f"{{ year target actual status ratio institution {INSTITUTION_REF} }}"
INDICATOR = (f"{{ rowId code name {TEXT} unit direction updatedAt baseline {VALUE} targets {VALUE} {FOOTNOTES} "
             f"goal {{ rowId }} actuals {ACTUAL} progress {PROGRESS} }}")  # fmt: skip
TASK = (f"{{ rowId number parentNumber text {TEXT} updatedAt {FOOTNOTES} "
        f"institutionRoles {{ writtenAs role institution {INSTITUTION_REF} }} }}")  # fmt: skip
INSTITUTION = (f"{{ rowId code name {TEXT} aliases kind country sources updatedAt parent {INSTITUTION_REF} "
               f"provenance {{ {NAME_PROVENANCE} kind {FACT} parent {FACT} }} }}")  # fmt: skip
MEMBERSHIP = (f"{{ rowId relation since sincePrecision until untilPrecision financialObligation note {TEXT} sources "
              f"updatedAt member {INSTITUTION_REF} coordinator {INSTITUTION_REF} "
              f"events {{ date precision kind organization {ORGANIZATION_REF} }} "
              f"provenance {{ relation {FACT} since {FACT} until {FACT} }} }}")  # fmt: skip
ORGANIZATION = (f"{{ rowId acronym name {TEXT} aliases kind established sources updatedAt parent {ORGANIZATION_REF} "
                f"memberships {MEMBERSHIP} "
                f"provenance {{ {NAME_PROVENANCE} kind {FACT} parent {FACT} established {FACT} }} }}")  # fmt: skip
ENGAGEMENT = (f"{{ rowId startDate endDate title {TEXT} place {TEXT} country participants {TEXT} sources updatedAt "
              f"institution {INSTITUTION_REF} organization {ORGANIZATION_REF} }}")  # fmt: skip
REPRESENTATION = (f"{{ rowId country city {TEXT} cityCountry sourceText sources updatedAt "
                  f"organizations {ORGANIZATION_REF} coordinator {INSTITUTION_REF} }}")  # fmt: skip
STRATEGY = (f"{{ rowId key title {TEXT} periodStart periodEnd baselineYear dates {{ date kind text {TEXT} }} updatedAt "
            f"parent {{ rowId }} owner {INSTITUTION_REF} {FOOTNOTES} swot {{ kind text {TEXT} }} "
            f"areas {{ rowId number code kind title {TEXT} goals {{ rowId number title {TEXT} institutionsText "
            f"institutions {INSTITUTION_REF} indicators {INDICATOR} }} "
            f"actionDirections {{ rowId number title {TEXT} tasks {TASK} }} }} }}")  # fmt: skip
COUNTS = "counts { achieved onTrack offTrack noData notApplicable }"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def same_scalar(key: str, rest, gql) -> bool:
    if key in ENUMS and isinstance(rest, str) and isinstance(gql, str):
        return rest.lower() == gql.lower()
    if key.endswith("_at") and isinstance(rest, str) and isinstance(gql, str):
        return dt.datetime.fromisoformat(rest) == dt.datetime.fromisoformat(gql)
    return rest == gql


def row_id(gql: dict):
    return gql["rowId"] if "rowId" in gql else gql["id"]


def differences(rest, gql, path: str, key: str = "") -> list[str]:
    """Every shared fact on which the two disagree, and every REST field GraphQL does not give."""
    if isinstance(rest, dict) and isinstance(gql, dict):
        found = []
        for name, value in rest.items():
            where = f"{path}.{name}"
            if where in ONLY_REST:
                continue
            other = RENAMED.get(where, camel(name))
            if name == "id" and "rowId" in gql:
                found += differences(value, gql["rowId"], where, name)
            elif other in gql:
                found += differences(value, gql[other], where, name)
            elif name.endswith("_id") and camel(name[:-3]) in gql:
                linked = gql[camel(name[:-3])]
                found += differences(value, linked and row_id(linked), where, name)
            else:
                found.append(f"{where}: REST gives it, GraphQL does not")
        return found
    if isinstance(rest, list) and isinstance(gql, list):
        if len(rest) != len(gql):
            return [f"{path}: {len(rest)} items in REST, {len(gql)} in GraphQL"]
        if (
            rest
            and all(isinstance(item, dict) and "id" in item for item in rest)
            and all(isinstance(item, dict) and ("id" in item or "rowId" in item) for item in gql)
        ):
            by_id = {row_id(item): item for item in gql}
            missing = [f"{path}: {item['id']} not in GraphQL" for item in rest if item["id"] not in by_id]
            return missing or [d for item in rest for d in differences(item, by_id[item["id"]], path, key)]
        return [d for a, b in zip(rest, gql, strict=True) for d in differences(a, b, path, key)]
    if same_scalar(key, rest, gql):
        return []
    return [f"{path}: REST {rest!r}, GraphQL {gql!r}"]


def assert_same(rest, gql, path: str, of: str = "") -> None:
    found = differences(rest, gql, path)
    assert not found, f"{len(found)} difference(s){of}:\n" + "\n".join(found[:40])


async def rest_items(client, url: str, **params) -> list[dict]:
    """Every item of a REST list, following next_cursor."""
    items, cursor = [], None
    while True:
        response = await client.get(url, params=params | {"limit": 500} | ({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


async def query(client, document: str) -> dict:
    body = await graphql(client, document, uncached=True)
    assert "errors" not in body, body["errors"]
    return body["data"]


@pytest.fixture(scope="module")
async def measured(app, tokens) -> None:
    """Actuals and progress to compare: a per-institution value (approved) and a value for a whole goal.
    Another test may have posted the year already (428 here); either way the year has a value."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for code, token, body in [
            ("H1.1.1", "VRS", {"year": 2023, "value": "84%", "institution": "VRS", "comment": "one truth"}),
            ("1.2.3", "VP", {"year": 2023, "value": "7", "source": "register"}),
        ]:
            response = await post_measurement(client, code, tokens[token], body)
            assert response.status_code in (201, 428), response.text
            ind = await indicator_id(client, code)
            await client.post(f"/api/v1/indicators/{ind}/measurements/2023/approve",
                              params={"institution": body.get("institution")} if body.get("institution") else {},
                              headers=bearer(tokens["admin"]))  # fmt: skip


async def test_institutions(client):
    rest = await rest_items(client, "/api/v1/institutions")
    connection = await query(client, f"{{ institutions(first: 500) {{ edges {{ node {INSTITUTION} }} }} }}")
    gql = [edge["node"] for edge in connection["institutions"]["edges"]]
    assert rest
    assert_same(rest, gql, "institution")


async def test_organisations_with_memberships(client):
    listed = await rest_items(client, "/api/v1/organizations")
    rest = [(await client.get(f"/api/v1/organizations/{o['id']}")).json() for o in listed]
    connection = await query(client, f"{{ organizations(first: 500) {{ edges {{ node {ORGANIZATION} }} }} }}")
    gql = [edge["node"] for edge in connection["organizations"]["edges"]]
    assert any(o["memberships"] for o in rest)
    assert_same(rest, gql, "organization")


async def test_engagements_and_representations(client):
    connections = await query(
        client,
        f"{{ engagements(first: 500) {{ edges {{ node {ENGAGEMENT} }} }} "
        f"representations(first: 500) {{ edges {{ node {REPRESENTATION} }} }} }}",
    )
    gql = {field: [edge["node"] for edge in connection["edges"]] for field, connection in connections.items()}
    engagements = await rest_items(client, "/api/v1/engagements")
    representations = await rest_items(client, "/api/v1/representations")
    assert engagements and representations
    assert_same(engagements, gql["engagements"], "engagement")
    assert_same(representations, gql["representations"], "representation")


async def test_strategy_tree(client, measured):
    strategies = await rest_items(client, "/api/v1/strategies")
    connection = await query(client, "{ strategies(first: 500) { edges { node { rowId key } } totalCount } }")
    listed = [edge["node"] for edge in connection["strategies"]["edges"]]
    assert listed == [{"rowId": s["id"], "key": s["key"]} for s in strategies]
    assert connection["strategies"]["totalCount"] == len(strategies)
    for listed in strategies:
        rest = (await client.get(f"/api/v1/strategies/{listed['id']}")).json()
        gql = (await query(client, f'{{ strategy(id: "{listed["id"]}") {STRATEGY} }}'))["strategy"]
        assert_same(rest, gql, "strategy")


async def test_indicators_with_values_actuals_and_progress(client, measured):
    rest = await rest_items(client, "/api/v1/indicators")
    connection = (await query(client, f"{{ indicators {{ edges {{ node {INDICATOR} }} }} }}"))["indicators"]
    gql = {edge["node"]["rowId"]: edge["node"] for edge in connection["edges"]}
    assert_same(rest, [gql[i["id"]] for i in rest], "indicator")
    with_institution = 0
    for indicator in rest:
        actuals = await rest_items(client, f"/api/v1/indicators/{indicator['id']}/measurements")
        of = f" in indicator {indicator['code']}"
        assert_same([a["current"] for a in actuals], gql[indicator["id"]]["actuals"], "actual", of)
        progress = await rest_items(client, f"/api/v1/indicators/{indicator['id']}/progress")
        assert_same(progress, gql[indicator["id"]]["progress"], "progress", of)
        with_institution += sum(1 for a in actuals if a["current"]["institution"])
    assert with_institution >= 1  # the comparison saw an actual that names its institution


async def test_tasks(client):
    rest = await rest_items(client, "/api/v1/tasks")
    connection = (await query(client, f"{{ tasks {{ edges {{ node {TASK} }} }} }}"))["tasks"]
    gql = {edge["node"]["rowId"]: edge["node"] for edge in connection["edges"]}
    assert rest
    assert_same(rest, [gql[t["id"]] for t in rest], "task")


async def test_progress_summary(client, measured):
    for year in (2023, 2024):
        rest = (await client.get("/api/v1/progress", params={"year": year})).json()
        gql = (await query(client, f"{{ progressSummary(year: {year}) {{ year areas {{ code {COUNTS} }} "
                                   f"goals {{ areaCode number {COUNTS} }} }} }}"))["progressSummary"]  # fmt: skip
        assert_same(rest, gql, "summary")


NODES = {  # a node type, the root field that lists its objects, and what to ask of each
    "Institution": ("institutions(first: 500) { edges { node", INSTITUTION),
    "Organization": ("organizations(first: 500) { edges { node", ORGANIZATION),
    "Strategy": ("strategies { edges { node", STRATEGY),
    "Indicator": ("indicators { edges { node", INDICATOR),
    "Task": ("tasks { edges { node", TASK),
    "Engagement": ("engagements(first: 500) { edges { node", ENGAGEMENT),
    "Representation": ("representations(first: 500) { edges { node", REPRESENTATION),
}


def with_global_id(selection: str) -> str:
    return "{ id " + selection[1:]


async def listed_nodes(client) -> dict[str, list[dict]]:
    found = {}
    for type_name, (field, selection) in NODES.items():
        closing = " } }" if "edges" in field else ""
        data = await query(client, f"{{ {field} {with_global_id(selection)}{closing} }}")
        items = data[field.split("(")[0].split(" ")[0]]
        found[type_name] = [edge["node"] for edge in items["edges"]] if "edges" in field else items
    return found


async def nodes_of(client, ids: list[str], *type_names: str) -> list[dict]:
    fragments = " ".join(f"... on {name} {with_global_id(NODES[name][1])}" for name in type_names)
    return (await query(client, f"{{ nodes(ids: {json.dumps(ids)}) {{ __typename {fragments} }} }}"))["nodes"]


async def test_every_node_is_fetched_again_by_its_global_id_as_its_list_gives_it(client, measured, sql_statements):
    """`nodes(ids:)` answers every node type with what its list gives (so with what REST gives, above), and in a
    number of statements that does not grow with the ids: each type's read runs once for all its ids."""
    listed = await listed_nodes(client)
    for type_name, items in listed.items():
        assert items, type_name
        answered = await nodes_of(client, [item["id"] for item in items[:100]], type_name)
        assert [{k: v for k, v in node.items() if k != "__typename"} for node in answered] == items[:100], type_name
        assert {node["__typename"] for node in answered} == {type_name}
        assert_same([{"id": item["rowId"]} for item in items[:100]], answered, type_name.lower())

    def mixed(each: int) -> list[str]:
        return [item["id"] for items in listed.values() for item in items[:each]]

    light = ("Institution", "Organization", "Task")  # a strategy's or indicators' whole tree, 12 times, costs too much
    sql_statements.reset()
    await nodes_of(client, mixed(1), *light)
    few = sql_statements.count
    sql_statements.reset()
    await nodes_of(client, mixed(12), *light)
    assert sql_statements.count == few


async def test_node_answers_null_for_an_unknown_id_and_refuses_too_many(client):
    listed = await listed_nodes(client)
    organization = listed["Organization"][0]
    gone = base64.b64encode(f"Organization:{uuid.uuid4()}".encode()).decode()
    not_a_type = base64.b64encode(f"Nothing:{organization['rowId']}".encode()).decode()
    answer = await query(client, f'{{ a: node(id: "{organization["id"]}") {{ id ... on Organization {{ rowId }} }} '
                                 f'b: node(id: "{gone}") {{ id }} c: node(id: "{not_a_type}") {{ id }} }}')  # fmt: skip
    assert answer == {"a": {"id": organization["id"], "rowId": organization["rowId"]}, "b": None, "c": None}
    # The global id and the REST id both name the organisation where an argument takes an id.
    for id in (organization["id"], organization["rowId"]):
        assert (await query(client, f'{{ organization(id: "{id}") {{ rowId }} }}'))["organization"] == {
            "rowId": organization["rowId"]
        }
    too_many = await graphql(client, f"{{ nodes(ids: {json.dumps([organization['id']] * 101)}) {{ id }} }}")
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "at most 100" in too_many["errors"][0]["message"]
