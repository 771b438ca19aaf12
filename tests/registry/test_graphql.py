"""The registry over GraphQL, and the bounded cost of nested pages."""

import uuid

import pytest
from sqlalchemy import delete, select

from service.core.models import stable_id
from service.registry.models import Institution, Membership, Organization
from service.registry.service import organization_search_fields
from tests.helpers import graphql

PAGE_QUERY = """
query Page($first: Int!, $after: String, $filter: OrganizationFilter) {
  organizations(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { cursor node {
      id acronym name { lv en } parent { acronym }
      memberships { since until financialObligation coordinator { code } member { code country } events { date kind } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_organizations_page_with_memberships(client):
    body = await graphql(client, PAGE_QUERY, first=50, filter={"financialObligation": True})
    page = body["data"]["organizations"]
    assert page["totalCount"] == 10 and page["pageInfo"]["hasNextPage"] is False
    nodes = {edge["node"]["acronym"]: edge["node"] for edge in page["edges"]}
    (roadpol,) = nodes["ROADPOL"]["memberships"]
    assert roadpol == {
        "since": "2010-05",
        "until": None,
        "financialObligation": True,
        "coordinator": {"code": "VP"},
        "member": {"code": "IeM", "country": "LV"},
        "events": [{"date": "2010-05", "kind": "joined"}],
    }
    assert nodes["TF-THB"]["parent"] == {"acronym": "CBSS"}


async def test_relay_pages_follow_each_other(client):
    seen, after = [], None
    while True:
        page = (await graphql(client, PAGE_QUERY, first=9, after=after))["data"]["organizations"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"] == 46


BACKWARD_QUERY = """
query Back($last: Int, $before: String) {
  organizations(last: $last, before: $before) {
    edges { cursor node { acronym } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def test_relay_pages_backward_from_the_end_meet_the_forward_order(client):
    """`last` / `before` (Relay's backward pagination): each page in listing order, pages ending where the next
    began, the whole walk the forward listing; a page's cursors bound it from either side."""
    forward = (await graphql(client, PAGE_QUERY, first=500))["data"]["organizations"]["edges"]
    walked, before, pages = [], None, []
    while True:
        page = (await graphql(client, BACKWARD_QUERY, last=10, before=before))["data"]["organizations"]
        pages.append(page)
        walked = [edge["node"]["acronym"] for edge in page["edges"]] + walked
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert walked == [edge["node"]["acronym"] for edge in forward] and len(walked) == 46
    assert pages[0]["pageInfo"]["hasNextPage"] is False and pages[1]["pageInfo"]["hasNextPage"] is True
    assert len(pages[-1]["edges"]) == 6 and pages[-1]["pageInfo"]["hasPreviousPage"] is False
    last_page = pages[0]
    assert last_page["pageInfo"]["startCursor"] == last_page["edges"][0]["cursor"]
    between = await graphql(
        client,
        "query($a: String, $b: String) { organizations(after: $a, before: $b) { edges { node { acronym } } } }",
        a=forward[2]["cursor"],
        b=forward[6]["cursor"],
    )
    assert [e["node"]["acronym"] for e in between["data"]["organizations"]["edges"]] == [
        edge["node"]["acronym"] for edge in forward[3:6]
    ]
    both = await graphql(client, "{ organizations(first: 5, last: 5) { edges { cursor } } }")
    assert both["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "not both" in both["errors"][0]["message"]


async def test_organization_by_acronym_and_id(client):
    query = "query($a: String, $i: ID) { organization(acronym: $a, id: $i) { id acronym name { original } } }"
    ctif = (await graphql(client, query, a="CTIF"))["data"]["organization"]
    assert ctif["name"]["original"].startswith("Comité technique")
    assert (await graphql(client, query, i=ctif["id"]))["data"]["organization"] == ctif
    assert (await graphql(client, query, a="NOPE"))["data"]["organization"] is None


async def test_institutions_engagements_representations(client):
    body = await graphql(
        client,
        """{ institutions { edges { node { code country parent { code } } } }
             engagements(year: 2019) { edges { node {
               startDate endDate place { en } organization { acronym } institution { code } } } }
             representations { edges { node { city { en } organizations { acronym } coordinator { code } } } } }""",
    )
    data = {field: [edge["node"] for edge in connection["edges"]] for field, connection in body["data"].items()}
    codes = {i["code"]: i for i in data["institutions"]}
    assert codes["VRK"]["parent"] == {"code": "VRS"} and codes["LT MD"]["country"] == "LT"
    assert len(data["engagements"]) == 5
    assert {"acronym": "INTERPOL"} in [e["organization"] for e in data["engagements"]]
    assert data["representations"][1] == {
        "city": {"en": "Geneva"},
        "organizations": [{"acronym": "UN"}, {"acronym": "WTO"}],
        "coordinator": {"code": "ĀM"},
    }


# The registry's other growing lists, each a Relay connection: the field, and what to ask of its nodes.
CONNECTIONS = {
    "institutions": "code country",
    "engagements": "rowId startDate",
    "representations": "rowId city { en }",
}


def connection_query(field: str) -> str:
    return f"""
    query Walk($first: Int, $after: String, $last: Int, $before: String) {{
      {field}(first: $first, after: $after, last: $last, before: $before) {{
        totalCount
        edges {{ cursor node {{ {CONNECTIONS[field]} }} }}
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
      }}
    }}"""


async def _walk(client, field: str, *, backward: bool) -> list[dict]:
    """Every node of the connection, two at a time, forward from the start or backward from the end; each
    page's PageInfo checked against its edges and its place in the walk."""
    walked: list[dict] = []
    cursor = None
    while True:
        arguments = {"last": 2, "before": cursor} if backward else {"first": 2, "after": cursor}
        page = (await graphql(client, connection_query(field), **arguments))["data"][field]
        nodes = [edge["node"] for edge in page["edges"]]
        info = page["pageInfo"]
        assert info["startCursor"] == page["edges"][0]["cursor"] and info["endCursor"] == page["edges"][-1]["cursor"]
        walked = nodes + walked if backward else walked + nodes
        more, other_side = (
            (info["hasPreviousPage"], info["hasNextPage"])
            if backward
            else (info["hasNextPage"], info["hasPreviousPage"])
        )
        assert other_side is (cursor is not None), (field, info)  # a bounding cursor: rows lie beyond it
        assert len(nodes) == 2 or not more
        if not more:
            return walked
        cursor = info["startCursor"] if backward else info["endCursor"]


@pytest.mark.parametrize("field", CONNECTIONS)
async def test_each_registry_connection_walks_forward_and_backward_in_one_order(client, field):
    """`first` / `after` from the start and `last` / `before` from the end give the one listing, page by page,
    with a complete PageInfo; `totalCount` counts every page; `first` and `last` together are refused."""
    whole = (await graphql(client, connection_query(field), first=500))["data"][field]
    listed = [edge["node"] for edge in whole["edges"]]
    assert whole["totalCount"] == len(listed) >= 5
    assert whole["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": whole["edges"][0]["cursor"],
        "endCursor": whole["edges"][-1]["cursor"],
    }
    assert await _walk(client, field, backward=False) == listed
    assert await _walk(client, field, backward=True) == listed
    between = await graphql(
        client, connection_query(field), after=whole["edges"][0]["cursor"], before=whole["edges"][4]["cursor"]
    )
    assert [edge["node"] for edge in between["data"][field]["edges"]] == listed[1:4]
    both = await graphql(client, connection_query(field), first=2, last=2)
    assert both["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "not both" in both["errors"][0]["message"]
    for size in (0, 501):
        wrong = await graphql(client, connection_query(field), last=size)
        assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", size


async def test_institutions_keep_the_rest_order_and_filter_by_country(client):
    """Country descending, then code, as `/api/v1/institutions` lists them (that list stays whole, unpaged)."""
    rest = (await client.get("/api/v1/institutions")).json()
    assert rest["next_cursor"] is None
    connection = (await graphql(client, connection_query("institutions"), first=500))["data"]["institutions"]
    assert [edge["node"]["code"] for edge in connection["edges"]] == [item["code"] for item in rest["items"]]
    countries = [edge["node"]["country"] for edge in connection["edges"]]
    assert countries == sorted(countries, reverse=True) and len(set(countries)) > 1
    lithuanian = await graphql(client, '{ institutions(country: "lt", first: 1) { totalCount edges { node { code } } '
                               "pageInfo { hasNextPage } } }")  # fmt: skip
    page = lithuanian["data"]["institutions"]
    rest_lt = (await client.get("/api/v1/institutions", params={"country": "LT"})).json()["items"]
    assert page["totalCount"] == len(rest_lt) > 1 and page["pageInfo"]["hasNextPage"] is True
    assert page["edges"] == [{"node": {"code": rest_lt[0]["code"]}}]


async def test_an_engagement_and_a_representation_are_fetched_again_by_node_id(client, sql_statements):
    """Both are Relay nodes: `node(id:)` refetches one as its connection gave it, `nodes(ids:)` mixes them with
    other types, in statements one per type and level asked, however many ids."""
    engagement = "rowId startDate title { en } institution { code } organization { acronym parent { acronym } }"
    representation = "rowId country city { en } organizations { acronym } coordinator { code }"
    listed = await graphql(
        client,
        f"{{ engagements(first: 500) {{ edges {{ node {{ id {engagement} }} }} }} "
        f"representations(first: 500) {{ edges {{ node {{ id {representation} }} }} }} "
        "institutions(first: 500) { edges { node { id code } } } }",
    )
    engagements, representations, institutions = (
        [edge["node"] for edge in listed["data"][field]["edges"]]
        for field in ("engagements", "representations", "institutions")
    )
    fragments = (
        f"... on Engagement {{ id {engagement} }} ... on Representation {{ id {representation} }} "
        "... on Institution { id code }"
    )
    for item in (engagements[0], representations[1]):
        again = await graphql(client, f'{{ node(id: "{item["id"]}") {{ {fragments} }} }}')
        assert again["data"]["node"] == item
    assert engagements[0]["rowId"] in {item["id"] for item in (await client.get("/api/v1/engagements")).json()["items"]}

    async def nodes(items: list[dict]) -> tuple[list[dict], int]:
        sql_statements.reset()
        ids = [item["id"] for item in items]
        answer = await graphql(client, "query($ids: [ID!]!) { nodes(ids: $ids) { " + fragments + " } }", uncached=True,
                               ids=ids)  # fmt: skip
        return answer["data"]["nodes"], sql_statements.count

    # One of each, the one whose answer reaches every level (a level with nothing to read costs no statement).
    def levels(engagement: dict) -> tuple[bool, ...]:
        organization = engagement["organization"] or {}
        return bool(engagement["institution"]), bool(organization), bool(organization.get("parent"))

    fullest_engagement = max(engagements, key=levels)
    fullest_representation = max(representations, key=lambda r: (bool(r["coordinator"]), bool(r["organizations"])))
    few = [fullest_engagement, fullest_representation, institutions[0]]
    many = engagements + representations + institutions[:5]
    assert (await nodes(few))[0] == few
    answered, statements = await nodes(many)
    assert answered == many
    assert statements == (await nodes(few))[1]


async def test_errors_carry_a_stable_code(client):
    bad_first = await graphql(client, "{ organizations(first: 100000) { totalCount } }")
    assert bad_first["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    bad_id = await graphql(client, '{ organization(id: "x") { id } }')
    assert bad_id["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    unknown_field = await graphql(client, "{ organisations { id } }")
    assert unknown_field["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    bad_cursor = await graphql(client, '{ organizations(after: "zzz") { totalCount } }')
    assert bad_cursor["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_page_of_500_organisations_costs_what_a_page_of_5_does(client, session, sql_statements):
    """DataLoaders batch every nested field: the statement count does not grow with the page."""
    member = (await session.scalars(select(Institution.id).where(Institution.code == "VP"))).one()
    organizations, memberships = [], []
    for n in range(520):
        acronym = f"SYN-{n:04d}"
        name = {"lv": f"Sintētiskā organizācija Nr. {n}", "en": f"Synthetic organisation {n}"}
        search_text, sort_key = organization_search_fields(acronym, name, [])
        org_id = stable_id("organization", acronym)
        organizations.append(
            Organization(
                id=org_id,
                acronym=acronym,
                name=name,
                kind="test",
                search_text=search_text,
                sort_key=sort_key,
                parent_id=stable_id("organization", "UN"),
            )
        )
        memberships.append(
            Membership(
                id=uuid.uuid4(),
                organization_id=org_id,
                member_id=member,
                relation="member",
                since="2001-02",
                coordinator_id=member,
                financial_obligation=n % 2 == 0,
            )
        )
    session.add_all(organizations)
    await session.flush()
    session.add_all(memberships)
    await session.commit()
    try:
        sql_statements.reset()
        small = await graphql(client, PAGE_QUERY, uncached=True, first=5, filter={"q": "SYN-"})
        small_count = sql_statements.count
        sql_statements.reset()
        large = await graphql(client, PAGE_QUERY, uncached=True, first=500, filter={"q": "SYN-"})
        assert len(large["data"]["organizations"]["edges"]) == 500
        assert all(
            e["node"]["memberships"][0]["coordinator"] == {"code": "VP"}
            for e in large["data"]["organizations"]["edges"]
        )
        assert len(small["data"]["organizations"]["edges"]) == 5
        assert sql_statements.count == small_count <= 6, sql_statements.statements
    finally:
        ids = [o.id for o in organizations]
        await session.execute(delete(Membership).where(Membership.organization_id.in_(ids)))
        await session.execute(delete(Organization).where(Organization.id.in_(ids)))
        await session.commit()


async def test_a_nodes_global_id_names_its_organisation_wherever_an_id_or_acronym_is_taken(client):
    """A Relay app holds `id`s: a filter taking "id or acronym" takes the node's global id too."""
    by_acronym = await graphql(client, '{ engagements(organization: "INTERPOL") { totalCount } }')
    interpol = await graphql(client, '{ organization(acronym: "INTERPOL") { id rowId } }')
    node = interpol["data"]["organization"]
    for named in (node["id"], node["rowId"]):
        by_id = await graphql(client, "query($o: String) { engagements(organization: $o) { totalCount } }", o=named)
        assert by_id["data"] == by_acronym["data"] and by_id["data"]["engagements"]["totalCount"] >= 1
    other_type = await graphql(client, '{ institution(code: "VP") { id } }')
    wrong = await graphql(client, "query($o: String) { engagements(organization: $o) { totalCount } }",
                          o=other_type["data"]["institution"]["id"])  # fmt: skip
    assert wrong["errors"][0]["extensions"]["code"] == "NOT_FOUND"
