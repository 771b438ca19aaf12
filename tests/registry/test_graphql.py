"""The registry over GraphQL, and the bounded cost of nested pages."""

import uuid

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
        """{ institutions { code country parent { code } }
             engagements(year: 2019) { startDate endDate place { en } organization { acronym } institution { code } }
             representations { city { en } organizations { acronym } coordinator { code } } }""",
    )
    data = body["data"]
    codes = {i["code"]: i for i in data["institutions"]}
    assert codes["VRK"]["parent"] == {"code": "VRS"} and codes["LT MD"]["country"] == "LT"
    assert len(data["engagements"]) == 5
    assert {"acronym": "INTERPOL"} in [e["organization"] for e in data["engagements"]]
    assert data["representations"][1] == {
        "city": {"en": "Geneva"},
        "organizations": [{"acronym": "UN"}, {"acronym": "WTO"}],
        "coordinator": {"code": "ĀM"},
    }


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
