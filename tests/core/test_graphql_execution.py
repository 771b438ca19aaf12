"""The planned executor answers exactly what Strawberry's default execution answers: data, errors and their paths.

Each document runs twice on the same schema, once with graphql-core's completion (Strawberry's default
execution context) and once with the compiled plans, and the two answers are compared whole. The service's
own schema runs the benchmark's documents over the seed data the same way.
"""

import asyncio
import datetime as dt
import enum
import math

import pytest
import strawberry

from bench import queries
from service.core.graphql import Context
from service.core.graphql_execution import PlannedExecutionContext
from service.core.limits import RateLimiter
from service.graphql import Mutation, Query, build_schema


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leaf:
    name: str
    size: int | None
    weight: float | None
    colour: Colour
    tags: list[str]
    scores: list[float | None] | None
    born: dt.date | None = None
    required: str = "set"

    @strawberry.field
    async def slow(self) -> str:
        await asyncio.sleep(0)
        return f"slow {self.name}"

    @strawberry.field
    async def failing(self) -> str | None:
        await asyncio.sleep(0)
        raise ValueError(f"failing {self.name}")

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError(f"broken {self.name}")

    @strawberry.field
    def shout(self, loud: bool = False) -> str:
        return self.name.upper() if loud else self.name


@strawberry.type
class Branch:
    label: str
    leaves: list[Leaf]
    maybe_leaves: list[Leaf | None] | None
    best: Leaf | None
    worst: Leaf | None
    grid: list[list[int]]

    @strawberry.field
    async def later_leaves(self) -> list[Leaf]:
        await asyncio.sleep(0)
        return self.leaves


def _leaf(name: str, **changes) -> Leaf:
    fields = dict(name=name, size=3, weight=1.5, colour=Colour.RED, tags=["a", "b"], scores=[1.0, None],
                  born=dt.date(2024, 5, 1))  # fmt: skip
    return Leaf(**{**fields, **changes})


GOOD = [_leaf("oak"), _leaf("elm", size=None, colour=Colour.BLUE, tags=[], scores=None, born=None)]
NULL_REQUIRED = [_leaf("ash"), _leaf("yew", required=None)]  # a non-null field holding None
BAD_LEAVES = [_leaf("fir", weight=math.nan), _leaf("big", size=2**40)]  # values no Float / Int can take


def _branch(leaves: list[Leaf]) -> Branch:
    return Branch(
        label="b", leaves=leaves, maybe_leaves=[leaves[0], None], best=leaves[0], worst=leaves[-1], grid=[[1, 2], [3]]
    )


@strawberry.type
class TreeQuery:
    @strawberry.field
    def branch(self) -> Branch:
        return _branch(GOOD)

    @strawberry.field
    def branches(self) -> list[Branch]:
        return [_branch(GOOD), _branch(GOOD[::-1])]

    @strawberry.field
    def nulled(self) -> Branch | None:
        return _branch(NULL_REQUIRED)

    @strawberry.field
    def bad(self) -> Branch | None:
        return _branch(BAD_LEAVES)

    @strawberry.field
    async def later(self) -> list[Branch]:
        await asyncio.sleep(0)
        return [_branch(GOOD)]


DEFAULT = strawberry.Schema(query=TreeQuery)
PLANNED = strawberry.Schema(query=TreeQuery, execution_context_class=PlannedExecutionContext)

LEAF_FIELDS = "name size weight colour tags scores born required __typename"
DOCUMENTS = {
    "plain fields, enums, custom scalars, leaf lists": f"{{ branch {{ label leaves {{ {LEAF_FIELDS} }} }} }}",
    "aliases, the same field twice": "{ branch { a: label label leaves { n: name name tags t: tags } } }",
    "fragments and inline fragments": """
        query { branches { ...B } }
        fragment B on Branch { label leaves { ...L ... on Leaf { colour } } best { ...L } }
        fragment L on Leaf { name size __typename }
    """,
    "nulls in nullable lists and objects": "{ branch { maybeLeaves { name } best { name } grid } }",
    "a non-null field holding null": "{ nulled { label leaves { name required } } }",
    "leaf values no scalar can take": "{ bad { leaves { name weight size } } }",
    "resolvers, sync and async, with arguments": "{ branch { leaves { name slow shout(loud: true) s: shout } } }",
    "errors inside a list, sync and async": "{ branches { leaves { name broken failing } } }",
    "an async list completed by the plan": "{ later { label laterLeaves { name slow failing } } }",
    "directives take graphql-core's path": "query($x: Boolean!) { branch { label @include(if: $x) leaves { name } } }",
    "objects, sync and async, erring inside": """
        { branches { best { name slow failing broken } } nulled { worst { required } } }
    """,
    "empty and null lists": "{ branch { leaves { tags scores } } nulled { leaves { tags } } }",
    "__typename only": "{ __typename branch { __typename leaves { __typename } } }",
}


def _answer(result) -> dict:
    errors = [{"message": e.message, "path": e.path, "locations": e.locations} for e in result.errors or []]
    return {"data": result.data, "errors": sorted(errors, key=lambda e: (str(e["path"]), e["message"]))}


@pytest.mark.parametrize("name", DOCUMENTS)
async def test_the_planned_answer_is_graphql_core_s(name):
    document = DOCUMENTS[name]
    for _ in range(2):  # the second time from the compiled plans
        expected = _answer(await DEFAULT.execute(document, variable_values={"x": False}))
        assert _answer(await PLANNED.execute(document, variable_values={"x": False})) == expected


async def test_errors_keep_their_order_and_paths():
    document = "{ branches { leaves { name broken } } nulled { leaves { required } } }"
    expected = await DEFAULT.execute(document)
    planned = await PLANNED.execute(document)
    assert [(e.message, e.path) for e in planned.errors] == [(e.message, e.path) for e in expected.errors]
    assert planned.errors[0].path == ["branches", 0, "leaves", 0, "broken"]


def test_a_field_middleware_takes_graphql_core_s_path():
    class Upper(strawberry.extensions.SchemaExtension):
        def resolve(self, _next, root, info, *args, **kwargs):
            value = _next(root, info, *args, **kwargs)
            return value.upper() if isinstance(value, str) else value

    schema = strawberry.Schema(query=TreeQuery, extensions=[Upper], execution_context_class=PlannedExecutionContext)
    assert schema.execute_sync("{ branch { label leaves { name } } }").data == {
        "branch": {"label": "B", "leaves": [{"name": "OAK"}, {"name": "ELM"}]}
    }


SERVICE_DEFAULT = strawberry.Schema(query=Query, mutation=Mutation)
SERVICE_PLANNED = strawberry.Schema(query=Query, mutation=Mutation, execution_context_class=PlannedExecutionContext)


async def _service_answer(schema: strawberry.Schema, sessionmaker, document: str, variables: dict) -> dict:
    async with sessionmaker() as session:
        context = Context(session, RateLimiter(60))
        return _answer(await schema.execute(document, variable_values=variables, context_value=context))


SERVICE_DOCUMENTS = {
    "the strategy tree": (queries.SERVICE_STRATEGIES, {"first": 5}),
    "organisations with memberships": (queries.SERVICE_ORGANIZATIONS, {}),
    "indicators with actuals, progress and their goal": (
        '{ indicators(filter: {area: "1"}) { edges { node { code etag goal { number } '
        "actuals { year institution { code } } progress { year status institution { code } } } } } }",
        {},
    ),
    "a strategy that does not exist": ('{ strategy(id: "not-an-id") { key } }', {}),
}


@pytest.mark.parametrize("name", SERVICE_DOCUMENTS)
async def test_the_service_answers_the_same_with_plans(sessionmaker, name):
    document, variables = SERVICE_DOCUMENTS[name]
    expected = await _service_answer(SERVICE_DEFAULT, sessionmaker, document, variables)
    if "not exist" not in name:
        assert expected["errors"] == [] and expected["data"]
    for _ in range(2):
        assert await _service_answer(SERVICE_PLANNED, sessionmaker, document, variables) == expected


async def test_the_service_s_extensions_work_around_the_planned_executor(client, tokens):
    from tests.helpers import bearer, graphql

    assert build_schema().execution_context_class is PlannedExecutionContext
    costly = "{ " + " ".join(f"s{n}: strategies(first: 500) {{ edges {{ node {{ areas {{ goals {{ indicators "
                             f"{{ targets {{ text }} }} }} }} }} }} }}" for n in range(3)) + " }"  # fmt: skip
    assert (await graphql(client, costly))["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    too_long = await graphql(client, "query($c: String!) { institution(code: $c) { code } }", c="V" * 300)
    assert too_long["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    not_an_id = await graphql(client, '{ strategies { edges { node { key } } } strategy(id: "nope") { key } }')
    assert not_an_id["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert not_an_id["errors"][0]["path"] == ["strategy"] and not_an_id["data"]["strategies"]["edges"]
    # The one commit: a mutation's write is there for the next request, its answer completed by the plan.
    admin = bearer(tokens["admin"])
    document = "{ tasks { edges { node { id rowId etag institutionRoles { role institution { code } } } } } }"
    tasks = (await graphql(client, document))["data"]
    task = next(edge["node"] for edge in tasks["tasks"]["edges"] if edge["node"]["institutionRoles"])
    code, role = task["institutionRoles"][0]["institution"]["code"], task["institutionRoles"][0]["role"]
    mutation = """mutation($id: ID!, $roles: [TaskRoleInput!]!, $etag: String) {
        setTaskRoles(taskId: $id, roles: $roles, ifMatch: $etag) { etag institutionRoles { role } } }"""

    async def set_role(value: str | None, etag: str) -> dict:
        variables = {"id": task["id"], "roles": [{"institution": code, "role": value}], "etag": etag}
        answer = await client.post("/graphql", json={"query": mutation, "variables": variables}, headers=admin)
        return answer.json()["data"]["setTaskRoles"]

    changed = await set_role("INVOLVED" if role == "RESPONSIBLE" else "RESPONSIBLE", task["etag"])
    assert (await client.get(f"/api/v1/tasks/{task['rowId']}")).json()["institutions"][0]["role"].upper() == (
        changed["institutionRoles"][0]["role"]
    )
    assert (await set_role(role, changed["etag"]))["institutionRoles"][0]["role"] == role
