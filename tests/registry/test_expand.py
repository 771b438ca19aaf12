"""Organisations with their memberships in one REST call, at a cost that does not grow with the page."""

import uuid

from sqlalchemy import delete, select

from service.core.models import stable_id
from service.registry.models import Institution, Membership, Organization
from service.registry.service import organization_search_fields


async def test_a_page_with_memberships_costs_the_same_for_5_organisations_as_for_100(client, session, sql_statements):
    vp, vrs = (await session.execute(select(Institution.id).where(Institution.code.in_(["VP", "VRS"])))).scalars()
    un = stable_id("organization", "UN")
    joined_un = [{"date": "2004", "kind": "joined_parent", "organization_id": str(un)}]
    organizations, memberships = [], []
    for n in range(110):
        acronym = f"EXP-{n:03d}"
        name = {"lv": f"Paplašinātā organizācija {n}", "en": f"Expanded organisation {n}"}
        search_text, sort_key = organization_search_fields(acronym, name, [])
        org_id = stable_id("organization", acronym)
        organizations.append(Organization(id=org_id, acronym=acronym, name=name, kind="test", search_text=search_text,
                                          sort_key=sort_key, parent_id=un))  # fmt: skip
        for member, coordinator in ((vp, vrs), (vrs, None)):
            memberships.append(Membership(id=uuid.uuid4(), organization_id=org_id, member_id=member, relation="member",
                                          since="2004-05", coordinator_id=coordinator,
                                          events=joined_un))  # fmt: skip
    session.add_all(organizations)
    await session.flush()
    session.add_all(memberships)
    await session.commit()
    try:
        counts, pages = {}, {}
        for limit in (5, 100):
            sql_statements.reset()
            response = await client.get(
                "/api/v1/organizations", params={"q": "EXP-", "expand": "memberships", "limit": limit}
            )
            assert response.status_code == 200, response.text
            counts[limit], pages[limit] = sql_statements.count, response.json()["items"]
        assert len(pages[5]) == 5 and len(pages[100]) == 100
        assert counts[5] == counts[100] <= 7, sql_statements.statements
        first = pages[100][0]
        members = sorted((m["member"]["code"], (m["coordinator"] or {}).get("code")) for m in first["memberships"])
        assert members == [("VP", "VRS"), ("VRS", None)]
        assert first["memberships"][0]["events"][0]["organization"]["acronym"] == "UN"
        detail = (await client.get(f"/api/v1/organizations/{first['id']}")).json()
        assert first == detail  # the same shape and content as the organisation's own page
        plain = (await client.get("/api/v1/organizations", params={"q": "EXP-", "limit": 5})).json()["items"]
        assert "memberships" not in plain[0]
    finally:
        ids = [o.id for o in organizations]
        await session.execute(delete(Membership).where(Membership.organization_id.in_(ids)))
        await session.execute(delete(Organization).where(Organization.id.in_(ids)))
        await session.commit()
