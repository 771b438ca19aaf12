"""The registry's rules: filters, pagination, and turning rows into the published shapes."""

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from service.core import merge_patch, partial_date, writes
from service.core.auth import Principal, require_admin
from service.core.caching import etag_of_payload, locked_at_version
from service.core.errors import NotFound, Problem
from service.core.i18n import LocalizedText, fold, required_text
from service.core.models import as_utc, stable_id
from service.core.pagination import decode_cursor, next_cursor
from service.registry import repository
from service.registry.models import Engagement, Institution, Membership, Organization, Representation
from service.registry.repository import OrganizationQuery
from service.registry.schemas import (
    EngagementOut,
    EventIn,
    InstitutionIn,
    InstitutionOut,
    InstitutionPatch,
    InstitutionRef,
    MembershipEvent,
    MembershipIn,
    MembershipOut,
    MembershipPatch,
    OrganizationDetail,
    OrganizationIn,
    OrganizationOut,
    OrganizationPatch,
    OrganizationRef,
    RepresentationOut,
)


def organization_query(
    *,
    q: str | None = None,
    coordinator: str | None = None,
    member_country: str | None = None,
    financial_obligation: bool | None = None,
    updated_since: dt.datetime | None = None,
) -> OrganizationQuery:
    folded = fold(q).strip() if q else None
    return OrganizationQuery(
        folded_text=folded or None,
        coordinator_code=coordinator,
        member_country=member_country.upper() if member_country else None,
        financial_obligation=financial_obligation,
        updated_since=as_utc(updated_since) if updated_since else None,
    )


def organization_search_fields(acronym: str | None, name: dict, aliases: list[str]) -> tuple[str, str]:
    """The folded search text and the sort key an organisation is stored with."""
    # In a fixed language order: JSONB returns keys in its own order, and the stored text must not depend on it.
    names = [name[language] for language in ("lv", "en", "lt", "original") if name.get(language)]
    search_text = " | ".join(fold(text) for text in [acronym or "", *names, *aliases] if text)
    sort_key = fold(acronym or name.get("en") or names[0])
    return search_text, sort_key


async def page_organizations(
    session: AsyncSession, query: OrganizationQuery, limit: int, cursor: str | None
) -> tuple[Sequence[Organization], str | None]:
    after = decode_cursor(cursor, (str, uuid.UUID)) if cursor else None
    rows = await repository.list_organizations(session, query, limit, after)
    return rows[:limit], next_cursor(rows, limit, lambda org: [org.sort_key, str(org.id)])


async def resolve_organization_id(session: AsyncSession, id_or_acronym: str) -> uuid.UUID:
    """An organisation given by id or by acronym, as clients write either."""
    try:
        return uuid.UUID(id_or_acronym)
    except ValueError:
        org = await repository.get_organization_by_acronym(session, id_or_acronym)
        if org is None:
            raise NotFound("organization", id_or_acronym) from None
        return org.id


def institution_ref(institution: Institution) -> InstitutionRef:
    return InstitutionRef(id=institution.id, code=institution.code, country=institution.country)


def organization_ref(org: Organization) -> OrganizationRef:
    return OrganizationRef(id=org.id, acronym=org.acronym, name=org.name)


def institution_out(institution: Institution, parents: dict[uuid.UUID, Institution]) -> InstitutionOut:
    parent = parents.get(institution.parent_id) if institution.parent_id else None
    return InstitutionOut(
        id=institution.id,
        code=institution.code,
        name=institution.name,
        aliases=institution.aliases,
        kind=institution.kind,
        country=institution.country,
        parent=institution_ref(parent) if parent else None,
        notes=institution.notes,
        sources=institution.sources,
        updated_at=institution.updated_at,
    )


def organization_out(org: Organization, parents: dict[uuid.UUID, Organization]) -> OrganizationOut:
    parent = parents.get(org.parent_id) if org.parent_id else None
    return OrganizationOut(
        id=org.id,
        acronym=org.acronym,
        name=org.name,
        aliases=org.aliases,
        kind=org.kind,
        parent=organization_ref(parent) if parent else None,
        established=org.established,
        sources=org.sources,
        updated_at=org.updated_at,
    )


def _precision(value: str | None) -> partial_date.Precision | None:
    return partial_date.parse(value) if value else None


def membership_out(
    membership: Membership, institutions: dict[uuid.UUID, Institution], organizations: dict[uuid.UUID, Organization]
) -> MembershipOut:
    coordinator = institutions.get(membership.coordinator_id) if membership.coordinator_id else None
    events = []
    for event in membership.events:
        other = organizations.get(uuid.UUID(event["organization_id"])) if event.get("organization_id") else None
        events.append(
            MembershipEvent(
                date=event["date"], kind=event["kind"], organization=organization_ref(other) if other else None
            )
        )
    return MembershipOut(
        id=membership.id,
        member=institution_ref(institutions[membership.member_id]),
        relation=membership.relation,
        since=membership.since,
        since_precision=_precision(membership.since),
        until=membership.until,
        until_precision=_precision(membership.until),
        coordinator=institution_ref(coordinator) if coordinator else None,
        financial_obligation=membership.financial_obligation,
        events=events,
        note=membership.note,
        sources=membership.sources,
        updated_at=membership.updated_at,
    )


def event_organization_ids(memberships: Sequence[Membership]) -> list[uuid.UUID]:
    return [uuid.UUID(e["organization_id"]) for m in memberships for e in m.events if e.get("organization_id")]


def membership_institution_ids(memberships: Sequence[Membership]) -> list[uuid.UUID]:
    ids = [m.member_id for m in memberships]
    ids += [m.coordinator_id for m in memberships if m.coordinator_id]
    return ids


async def list_institutions(session: AsyncSession, country: str | None) -> list[InstitutionOut]:
    rows = await repository.list_institutions(session, country.upper() if country else None)
    by_id = {row.id: row for row in rows}
    missing_parents = [row.parent_id for row in rows if row.parent_id and row.parent_id not in by_id]
    by_id |= await repository.institutions_by_ids(session, missing_parents)
    return [institution_out(row, by_id) for row in rows]


async def get_institution(session: AsyncSession, code: str) -> InstitutionOut:
    institution = await repository.get_institution_by_code(session, code)
    if institution is None:
        raise NotFound("institution", code)
    parents = await repository.institutions_by_ids(session, [institution.parent_id] if institution.parent_id else [])
    return institution_out(institution, parents)


async def organizations_out(session: AsyncSession, rows: Sequence[Organization]) -> list[OrganizationOut]:
    parents = await repository.organizations_by_ids(session, [row.parent_id for row in rows if row.parent_id])
    return [organization_out(row, parents) for row in rows]


async def organization_details(
    session: AsyncSession, organization_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, OrganizationDetail]:
    """Organisations with their memberships, in a fixed number of statements however many."""
    orgs = await repository.organizations_by_ids(session, organization_ids)
    memberships = await repository.memberships_by_organization(session, list(orgs))
    every_membership = [m for ms in memberships.values() for m in ms]
    institutions = await repository.institutions_by_ids(session, membership_institution_ids(every_membership))
    related = event_organization_ids(every_membership) + [org.parent_id for org in orgs.values() if org.parent_id]
    organizations = await repository.organizations_by_ids(session, related)
    return {
        org.id: OrganizationDetail(
            **organization_out(org, organizations).model_dump(),
            memberships=[membership_out(m, institutions, organizations) for m in memberships[org.id]],
        )
        for org in orgs.values()
    }


async def get_organization(session: AsyncSession, organization_id: uuid.UUID) -> OrganizationDetail:
    detail = (await organization_details(session, [organization_id])).get(organization_id)
    if detail is None:
        raise NotFound("organization", str(organization_id))
    return detail


# The ETags GraphQL's `etag` fields serve, many at once through a DataLoader: the same values as the
# ETag of each entity's REST GET, which an edit checks its If-Match against.


async def institution_etags(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await repository.institutions_by_ids(session, ids)
    parents = await repository.institutions_by_ids(session, [row.parent_id for row in rows.values() if row.parent_id])
    return {row.id: etag_of_payload(institution_out(row, parents)) for row in rows.values()}


async def organization_etags(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {key: etag_of_payload(detail) for key, detail in (await organization_details(session, ids)).items()}


async def membership_etags(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = list((await repository.memberships_by_ids(session, ids)).values())
    institutions = await repository.institutions_by_ids(session, membership_institution_ids(rows))
    organizations = await repository.organizations_by_ids(session, event_organization_ids(rows))
    return {row.id: etag_of_payload(membership_out(row, institutions, organizations)) for row in rows}


async def page_engagements(
    session: AsyncSession, *, year: int | None, organization: str | None, limit: int, cursor: str | None
) -> tuple[list[EngagementOut], str | None]:
    organization_id = await resolve_organization_id(session, organization) if organization else None
    after = decode_cursor(cursor, (str, uuid.UUID)) if cursor else None
    rows = await repository.list_engagements(
        session, year=year, organization_id=organization_id, limit=limit, after=after
    )
    following = next_cursor(rows, limit, lambda e: [e.start_date, str(e.id)])
    return await engagements_out(session, rows[:limit]), following


async def engagements_out(session: AsyncSession, rows: Sequence[Engagement]) -> list[EngagementOut]:
    institutions = await repository.institutions_by_ids(session, [r.institution_id for r in rows if r.institution_id])
    organizations = await repository.organizations_by_ids(
        session, [r.organization_id for r in rows if r.organization_id]
    )
    return [
        EngagementOut(
            id=row.id,
            start_date=row.start_date,
            end_date=row.end_date,
            title=row.title,
            place=row.place,
            country=row.country,
            participants=row.participants,
            institution=institution_ref(institutions[row.institution_id]) if row.institution_id else None,
            organization=organization_ref(organizations[row.organization_id]) if row.organization_id else None,
            sources=row.sources,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


async def page_representations(
    session: AsyncSession, *, organization: str | None, limit: int, cursor: str | None
) -> tuple[list[RepresentationOut], str | None]:
    organization_id = await resolve_organization_id(session, organization) if organization else None
    after = decode_cursor(cursor, (int, uuid.UUID)) if cursor else None
    rows = await repository.list_representations(session, organization_id=organization_id, limit=limit, after=after)
    following = next_cursor(rows, limit, lambda r: [r.position, str(r.id)])
    return await representations_out(session, rows[:limit]), following


async def representations_out(session: AsyncSession, rows: Sequence[Representation]) -> list[RepresentationOut]:
    organization_ids = await repository.organization_ids_by_representation(session, [r.id for r in rows])
    organizations = await repository.organizations_by_ids(
        session, [i for ids in organization_ids.values() for i in ids]
    )
    coordinators = await repository.institutions_by_ids(session, [r.coordinator_id for r in rows if r.coordinator_id])
    return [
        RepresentationOut(
            id=row.id,
            country=row.country,
            city=row.city,
            city_country=row.city_country,
            source_text=row.source_text,
            organizations=[organization_ref(organizations[i]) for i in organization_ids[row.id]],
            coordinator=institution_ref(coordinators[row.coordinator_id]) if row.coordinator_id else None,
            sources=row.sources,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


# --- admin writes ---------------------------------------------------------------------------
# An edit locks its row, checks If-Match against the ETag a GET of the entity sends now, merges the
# patch into the entity's input shape and validates the whole (RFC 7396), then writes what changed.


async def _institution_id(session: AsyncSession, code: str | None, field: str) -> uuid.UUID | None:
    if code is None:
        return None
    institution = await repository.get_institution_by_code(session, code)
    if institution is None:
        raise Problem(
            422, f"{field}: no institution with code {code!r}", errors=[{"field": field, "message": "unknown"}]
        )
    return institution.id


async def _organization_id(session: AsyncSession, key: str | None, field: str) -> uuid.UUID | None:
    if key is None:
        return None
    try:
        return await resolve_organization_id(session, key)
    except NotFound:
        raise Problem(
            422, f"{field}: no organisation {key!r}", errors=[{"field": field, "message": "unknown"}]
        ) from None


async def create_institution(session: AsyncSession, principal: Principal, data: InstitutionIn) -> InstitutionOut:
    require_admin(principal)
    row = Institution(
        id=stable_id("institution", data.code),
        code=data.code,
        name=required_text(data.name, "name"),
        aliases=data.aliases,
        kind=data.kind,
        country=data.country,
        parent_id=await _institution_id(session, data.parent, "parent"),
        notes=[],
        sources=[],
    )
    await writes.save(session, principal, "institution", row, None)
    await session.flush()
    return await get_institution(session, row.code)


async def _locked_institution(
    session: AsyncSession, code: str, if_match: str | None
) -> tuple[Institution, InstitutionOut]:
    found = await repository.get_institution_by_code(session, code)
    return await locked_at_version(
        session, Institution, found.id if found else None, if_match, lambda _: get_institution(session, code),
        what="institution", key=code,
    )  # fmt: skip


async def update_institution(
    session: AsyncSession, principal: Principal, code: str, data: InstitutionPatch, if_match: str | None
) -> InstitutionOut:
    require_admin(principal)
    row, current = await _locked_institution(session, code, if_match)
    document = {
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "country": row.country,
        "parent": current.parent.code if current.parent else None,
        "aliases": row.aliases,
    }
    edit, changed = merge_patch.merged(InstitutionIn, document, merge_patch.changes_of(data))
    before = writes.snapshot(row)
    if "name" in changed:
        row.name = required_text(edit.name, "name")
    if "parent" in changed:
        row.parent_id = await _institution_id(session, edit.parent, "parent")
        if row.parent_id == row.id:
            raise Problem(422, "parent: an institution cannot be its own parent")
    for field in {"kind", "country", "aliases"} & changed:
        setattr(row, field, getattr(edit, field))
    await writes.save(session, principal, "institution", row, before)
    await session.flush()
    return await get_institution(session, row.code)


async def delete_institution(session: AsyncSession, principal: Principal, code: str, if_match: str | None) -> None:
    require_admin(principal)
    row, _ = await _locked_institution(session, code, if_match)
    await writes.remove(session, principal, "institution", row)
    await session.flush()


async def _locked_organization(session: AsyncSession, organization_id: uuid.UUID, if_match: str | None) -> Organization:
    org, _ = await locked_at_version(
        session, Organization, organization_id, if_match, lambda _: get_organization(session, organization_id),
        what="organisation",
    )  # fmt: skip
    return org


def _index(org: Organization) -> None:
    org.search_text, org.sort_key = organization_search_fields(org.acronym, org.name, org.aliases)


async def create_organization(session: AsyncSession, principal: Principal, data: OrganizationIn) -> OrganizationDetail:
    require_admin(principal)
    name = required_text(data.name, "name")
    # The natural key: the acronym, else the name in the first language given (a name may be only `original`).
    key = data.acronym or next(name[language] for language in ("lv", "lt", "en", "original") if name.get(language))
    row = Organization(
        id=stable_id("organization", key),
        acronym=data.acronym,
        name=name,
        aliases=data.aliases,
        kind=data.kind,
        parent_id=await _organization_id(session, data.parent, "parent"),
        established=data.established,
        sources=data.sources,
        search_text="",
        sort_key="",
    )
    _index(row)
    await writes.save(session, principal, "organization", row, None)
    await session.flush()
    return await get_organization(session, row.id)


async def update_organization(
    session: AsyncSession,
    principal: Principal,
    organization_id: uuid.UUID,
    data: OrganizationPatch,
    if_match: str | None,
) -> OrganizationDetail:
    require_admin(principal)
    row = await _locked_organization(session, organization_id, if_match)
    document = {
        "acronym": row.acronym,
        "name": row.name,
        "kind": row.kind,
        "parent": str(row.parent_id) if row.parent_id else None,
        "aliases": row.aliases,
        "established": row.established,
        "sources": row.sources,
    }
    edit, changed = merge_patch.merged(OrganizationIn, document, merge_patch.changes_of(data))
    before = writes.snapshot(row)
    if "name" in changed:
        row.name = required_text(edit.name, "name")
    if "parent" in changed:
        row.parent_id = await _organization_id(session, edit.parent, "parent")
        if row.parent_id == row.id:
            raise Problem(422, "parent: an organisation cannot be its own parent")
    for field in {"acronym", "kind", "aliases", "established", "sources"} & changed:
        setattr(row, field, getattr(edit, field))
    _index(row)
    await writes.save(session, principal, "organization", row, before)
    await session.flush()
    return await get_organization(session, row.id)


async def delete_organization(
    session: AsyncSession, principal: Principal, organization_id: uuid.UUID, if_match: str | None
) -> None:
    require_admin(principal)
    row = await _locked_organization(session, organization_id, if_match)
    for membership in await repository.lock_memberships_of(session, row.id):
        await writes.remove(session, principal, "membership", membership)
    await writes.remove(session, principal, "organization", row)
    await session.flush()


async def _events(session: AsyncSession, events: list[EventIn]) -> list[dict]:
    result = []
    for event in events:
        entry = {"date": event.date, "kind": event.kind}
        if event.organization:
            entry["organization_id"] = str(await _organization_id(session, event.organization, "events.organization"))
        result.append(entry)
    return result


def _note(note: LocalizedText | None) -> dict | None:
    text = note.model_dump(exclude_none=True) if note else {}
    return text or None


async def create_membership(
    session: AsyncSession, principal: Principal, organization_id: uuid.UUID, data: MembershipIn
) -> MembershipOut:
    require_admin(principal)
    org = await repository.get_organization(session, organization_id)
    if org is None:
        raise NotFound("organization", str(organization_id))
    member_id = await _institution_id(session, data.member, "member")
    row = Membership(
        id=stable_id("membership", data.member, org.acronym or str(org.id), data.relation.value),
        organization_id=org.id,
        member_id=member_id,
        relation=data.relation,
        since=data.since,
        until=data.until,
        coordinator_id=await _institution_id(session, data.coordinator, "coordinator"),
        financial_obligation=data.financial_obligation,
        events=await _events(session, data.events),
        note=_note(data.note),
        sources=data.sources,
    )
    await writes.save(session, principal, "membership", row, None)
    await session.flush()
    return await _membership_out(session, row)


async def _membership_out(session: AsyncSession, row: Membership) -> MembershipOut:
    institutions = await repository.institutions_by_ids(session, membership_institution_ids([row]))
    organizations = await repository.organizations_by_ids(session, event_organization_ids([row]))
    return membership_out(row, institutions, organizations)


async def get_membership(session: AsyncSession, membership_id: uuid.UUID) -> MembershipOut:
    row = await repository.get_membership(session, membership_id)
    if row is None:
        raise NotFound("membership", str(membership_id))
    return await _membership_out(session, row)


async def _locked_membership(
    session: AsyncSession, membership_id: uuid.UUID, if_match: str | None
) -> tuple[Membership, MembershipOut]:
    return await locked_at_version(
        session, Membership, membership_id, if_match, lambda row: _membership_out(session, row), what="membership"
    )


async def update_membership(
    session: AsyncSession, principal: Principal, membership_id: uuid.UUID, data: MembershipPatch, if_match: str | None
) -> MembershipOut:
    require_admin(principal)
    row, current = await _locked_membership(session, membership_id, if_match)
    document = {
        "member": current.member.code,
        "relation": row.relation,
        "since": row.since,
        "until": row.until,
        "coordinator": current.coordinator.code if current.coordinator else None,
        "financial_obligation": row.financial_obligation,
        "events": [
            {"date": e["date"], "kind": e["kind"], "organization": e.get("organization_id")} for e in row.events
        ],
        "note": row.note,
        "sources": row.sources,
    }
    edit, changed = merge_patch.merged(MembershipIn, document, merge_patch.changes_of(data))
    before = writes.snapshot(row)
    if "coordinator" in changed:
        row.coordinator_id = await _institution_id(session, edit.coordinator, "coordinator")
    if "events" in changed:
        row.events = await _events(session, edit.events)
    if "note" in changed:
        row.note = _note(edit.note)
    for field in {"since", "until", "financial_obligation", "sources"} & changed:
        setattr(row, field, getattr(edit, field))
    await writes.save(session, principal, "membership", row, before)
    await session.flush()
    return await _membership_out(session, row)


async def delete_membership(
    session: AsyncSession, principal: Principal, membership_id: uuid.UUID, if_match: str | None
) -> None:
    require_admin(principal)
    row, _ = await _locked_membership(session, membership_id, if_match)
    await writes.remove(session, principal, "membership", row)
    await session.flush()
