"""The registry over REST: filters, keyset pagination, ETags, CSV export and problem+json errors."""

import csv
import datetime as dt
import io
import uuid

import pytest
from sqlalchemy import delete

from service.core.models import stable_id
from service.core.pagination import Page
from service.registry.models import Organization
from service.registry.schemas import (
    EngagementOut,
    InstitutionOut,
    MembershipOut,
    OrganizationDetail,
    OrganizationOut,
    RepresentationOut,
)
from service.registry.service import organization_search_fields

PROBLEM = "application/problem+json"


async def _acronyms(client, **params) -> set[str]:
    response = await client.get("/api/v1/organizations", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return {o["acronym"] or o["name"]["en"] for o in response.json()["items"]}


async def test_search_ignores_case_and_diacritics(client):
    assert await _acronyms(client, q="UGUNSDZESIBAS") == {"CTIF", "FEU"}
    assert await _acronyms(client, q="ķīmisko") == await _acronyms(client, q="kimisko") == {"OPCW"}
    assert "INTERPOL" in await _acronyms(client, q="interpols")
    assert await _acronyms(client, q="100%_") == set()


async def test_filter_by_coordinator(client):
    assert await _acronyms(client, coordinator="VP") == {"CORTE", "ROADPOL", "ENFSI", "INTERPOL"}
    assert await _acronyms(client, coordinator="PMLP") == {"ICAO PKD", "IOM"}
    assert await _acronyms(client, coordinator="NOPE") == set()


async def test_filter_by_financial_obligation(client):
    obliged = await _acronyms(client, financial_obligation="true")
    assert obliged == {"UNDAC", "CORTE", "TF-THB", "ROADPOL", "FEU", "ENFSI", "ICAO PKD", "INTERPOL", "IOM", "CTIF"}
    others = await _acronyms(client, financial_obligation="false")
    assert not obliged & others and "FRONTEX" in others


async def test_filter_by_updated_since(client):
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert await _acronyms(client, updated_since=tomorrow) == set()
    assert len(await _acronyms(client, updated_since="2000-01-01T00:00:00Z")) == 46


async def test_pages_cover_every_organisation_once_in_order(client):
    everything = (await client.get("/api/v1/organizations", params={"limit": 500})).json()["items"]
    seen, cursor = [], None
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/organizations", params=params)).json()
        assert len(page["items"]) <= 7
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [o["id"] for o in everything]
    assert len(seen) == len(set(seen)) == 46


async def test_paging_is_stable_when_organisations_are_added_meanwhile(client, session):
    first = (await client.get("/api/v1/organizations", params={"limit": 10})).json()
    newcomers = []
    for acronym in ("AAA-TEST", "ZZZ-TEST"):
        name = {"en": f"Test organisation {acronym}"}
        search_text, sort_key = organization_search_fields(acronym, name, [])
        newcomers.append(
            Organization(
                id=stable_id("organization", acronym),
                acronym=acronym,
                name=name,
                kind="test",
                search_text=search_text,
                sort_key=sort_key,
            )
        )
    session.add_all(newcomers)
    await session.commit()
    try:
        rest, cursor = [], first["next_cursor"]
        while cursor:
            page = (await client.get("/api/v1/organizations", params={"limit": 10, "cursor": cursor})).json()
            rest += page["items"]
            cursor = page["next_cursor"]
        seen = first["items"] + rest
        acronyms = [o["acronym"] for o in seen]
        assert "AAA-TEST" not in acronyms  # sorts before the cursor: neither repeated nor shifting the pages
        assert acronyms[-1] == "ZZZ-TEST"
        assert len(seen) == len({o["id"] for o in seen}) == 47
    finally:
        await session.execute(delete(Organization).where(Organization.acronym.in_(["AAA-TEST", "ZZZ-TEST"])))
        await session.commit()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/organizations",
        "/api/v1/institutions",
        "/api/v1/engagements",
        "/api/v1/representations",
        "/api/v1/institutions/VP",
    ],
)
async def test_etag_gives_304_when_nothing_changed(client, path):
    first = await client.get(path)
    etag = first.headers["etag"]
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = await client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.json() == first.json()


async def test_etag_of_a_detail_changes_when_the_organisation_changes(client, session):
    org = (await client.get("/api/v1/organizations", params={"q": "FRONTEX"})).json()["items"][0]
    path = f"/api/v1/organizations/{org['id']}"
    etag = (await client.get(path)).headers["etag"]
    row = await session.get(Organization, uuid.UUID(org["id"]))
    original = row.aliases
    row.aliases = ["Frontex"]
    await session.commit()
    try:
        changed = await client.get(path, headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.json()["aliases"] == ["Frontex"]
    finally:
        row.aliases = original
        await session.commit()


async def test_organization_detail_has_memberships_and_timestamps(client):
    org = (await client.get("/api/v1/organizations", params={"q": "ROADPOL"})).json()["items"][0]
    detail = (await client.get(f"/api/v1/organizations/{org['id']}")).json()
    assert detail["id"] == org["id"] and detail["updated_at"]
    (membership,) = detail["memberships"]
    assert membership["since"] == "2010-05" and membership["since_precision"] == "month"
    assert membership["coordinator"]["code"] == "VP"
    assert membership["note"]["lv"].startswith("dalība kopš 2010.gada maija")


async def test_institutions_by_percent_encoded_code_and_alias(client):
    info_centre = await client.get("/api/v1/institutions/IeM%20IC")
    assert (
        info_centre.status_code == 200
        and info_centre.json()["name"]["en"] == "Information Centre of the Ministry of the Interior"
    )
    foreign = await client.get("/api/v1/institutions/%C4%80M")
    assert foreign.json()["name"]["lv"] == "Ārlietu ministrija"
    lithuanian = (await client.get("/api/v1/institutions", params={"country": "lt"})).json()["items"]
    assert {i["code"] for i in lithuanian} == {"LT MD", "LT VRM"}


async def test_engagement_filters(client):
    assert len((await client.get("/api/v1/engagements", params={"year": 2019})).json()["items"]) == 5
    assert (await client.get("/api/v1/engagements", params={"year": 2020})).json()["items"] == []
    interpol = (await client.get("/api/v1/engagements", params={"organization": "INTERPOL"})).json()["items"]
    assert [e["place"]["en"] for e in interpol] == ["Santiago"]
    assert (await client.get("/api/v1/engagements", params={"organization": "NOPE"})).status_code == 404


async def test_csv_export_has_a_row_per_membership(client):
    response = await client.get("/api/v1/organizations/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    with_membership = [r for r in rows if r["member_code"]]
    assert len(with_membership) == 41
    assert len({r["organization_id"] for r in rows}) == 46
    (ctif,) = [r for r in with_membership if r["acronym"] == "CTIF"]
    assert ctif["since"] == "1929" and ctif["coordinator_code"] == "VUGD" and ctif["financial_obligation"] == "true"
    assert ctif["events"] == "1929 joined; 1992-09-25 renewed"
    assert ctif["name_lv"] == "Starptautiskā ugunsdzēsības un glābšanas dienestu asociācija"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/organizations/00000000-0000-0000-0000-000000000000", 404),
        ("/api/v1/organizations/not-a-uuid", 404),
        ("/api/v1/institutions/NOPE", 404),
        ("/api/v1/organizations?limit=501", 422),
        ("/api/v1/organizations?limit=0", 422),
        ("/api/v1/organizations?cursor=garbage", 400),
        ("/api/v1/organizations?cursor=WyJhIiwibm90LWEtdXVpZCJd", 400),
        ("/api/v1/organizations?updated_since=yesterday", 422),
        ("/api/v1/organizations?member_country=Latvia", 422),
        ("/api/v1/representations?cursor=WzEsMl0", 400),
        ("/api/v1/nothing-here", 404),
    ],
)
async def test_errors_are_problem_json_with_a_detail(client, path, status):
    response = await client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_an_organisation_named_only_in_its_own_language_can_be_created(client, tokens):
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    body = {"kind": "association", "name": {"original": "Comité technique international de prévention"}}
    created = await client.post("/api/v1/organizations", json=body, headers=admin)
    assert created.status_code == 201, created.text  # was a 500: the key fell back to a missing English name
    assert created.json()["name"]["original"] == body["name"]["original"]
    removed = await client.delete(
        f"/api/v1/organizations/{created.json()['id']}", headers=admin | {"If-Match": created.headers["etag"]}
    )
    assert removed.status_code == 204, removed.text


async def test_every_read_is_its_documented_model_byte_for_byte(client):
    """The reads write plain data with orjson instead of validating a model per object: each body must be
    exactly what its response model, given the same values, prints (fields, order, nulls, dates, texts)."""
    orgs = (await client.get("/api/v1/organizations", params={"limit": 500, "expand": "memberships"})).json()
    with_events = next(o for o in orgs["items"] if any(m["events"] for m in o["memberships"]))
    with_parent = next(o for o in orgs["items"] if o["parent"])
    membership = next(m for m in with_events["memberships"] if m["events"])
    reads = {
        "/api/v1/institutions": Page[InstitutionOut],
        "/api/v1/institutions/IeM%20IC": InstitutionOut,
        "/api/v1/organizations?limit=500": Page[OrganizationOut],
        "/api/v1/organizations?limit=500&expand=memberships": Page[OrganizationDetail],
        "/api/v1/organizations?limit=3": Page[OrganizationOut],
        f"/api/v1/organizations/{with_events['id']}": OrganizationDetail,
        f"/api/v1/organizations/{with_parent['id']}": OrganizationDetail,
        f"/api/v1/memberships/{membership['id']}": MembershipOut,
        "/api/v1/engagements?limit=500": Page[EngagementOut],
        "/api/v1/representations?limit=500": Page[RepresentationOut],
    }
    for path, model in reads.items():
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.content == model.model_validate_json(response.content).model_dump_json().encode(), path
    assert any(note for i in (await client.get("/api/v1/institutions")).json()["items"] for note in i["notes"])
