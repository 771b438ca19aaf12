"""The registry's rules: filters, the REST representations of what `reads.py` fetched, and the admin writes."""

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.core import merge_patch, partial_date, writes
from service.core.auth import Principal, require_admin
from service.core.caching import etag_of_payload, locked_at_version
from service.core.errors import NotFound, Problem
from service.core.i18n import LANGUAGES, LocalizedText, fold, localized, required_text
from service.core.models import as_utc, stable_id
from service.core.pagination import Window
from service.registry import reads, repository
from service.registry.models import Institution, Membership, Organization
from service.registry.provenance import INSTITUTION_FACTS, MEMBERSHIP_FACTS, ORGANIZATION_FACTS, mark_edited
from service.registry.reads import (
    EngagementData,
    InstitutionData,
    MembershipData,
    OrganizationData,
    RegistryRead,
    RepresentationData,
)
from service.registry.repository import OrganizationQuery
from service.registry.schemas import (
    EventIn,
    InstitutionIn,
    InstitutionPatch,
    InstitutionRef,
    MembershipIn,
    MembershipPatch,
    OrganizationIn,
    OrganizationPatch,
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


async def resolve_organization_id(session: AsyncSession, id_or_acronym: str) -> uuid.UUID:
    """An organisation given by id or by acronym, as clients write either."""
    organization_id = await RegistryRead(session).organization_id(id_or_acronym)
    if organization_id is None:
        raise NotFound("organization", id_or_acronym)
    return organization_id


def institution_ref(institution: Any) -> InstitutionRef:
    """The reference other domains' representations hold (any row with id, code and country)."""
    return InstitutionRef(id=institution.id, code=institution.code, country=institution.country)


# --- the REST representations, each mapped from the read's objects here and only here -------------------------
# Plain data in the shape of schemas.py's models (a test checks every one against its model, byte for byte).


def _institution_ref(data: InstitutionData) -> dict:
    return {"id": data.id, "code": data.code, "country": data.country}


def _organization_ref(data: OrganizationData) -> dict:
    return {"id": data.id, "acronym": data.acronym, "name": localized(data.name)}


def _precision(value: str | None) -> partial_date.Precision | None:
    return partial_date.parse(value) if value else None


def _fact(entry: dict | None) -> dict | None:
    if entry is None:
        return None
    return {
        "basis": entry["basis"],
        "source_sentence": entry.get("source_sentence"),
        "audit_entry_id": entry.get("audit_entry_id"),
    }


def provenance_json(provenance: dict, facts: dict[str, str]) -> dict:
    """A row's provenance as the schemas print it: every fact it covers, null where there is no such fact."""
    names = provenance.get("name") or {}
    return {
        key: {language: _fact(names.get(language)) for language in LANGUAGES}
        if key == "name"
        else _fact(provenance.get(key))
        for key in facts
    }


def institution_json(data: InstitutionData) -> dict:
    return {
        "id": data.id,
        "code": data.code,
        "name": localized(data.name),
        "aliases": data.aliases,
        "kind": data.kind,
        "country": data.country,
        "parent": _institution_ref(data.parent) if data.parent else None,
        "notes": [
            {"text": localized(note["text"]), "as_of": note.get("as_of"), "source": note.get("source")}
            for note in data.notes
        ],
        "sources": data.sources,
        "updated_at": data.updated_at,
        "provenance": provenance_json(data.provenance, INSTITUTION_FACTS),
    }


def organization_json(data: OrganizationData) -> dict:
    return {
        "id": data.id,
        "acronym": data.acronym,
        "name": localized(data.name),
        "aliases": data.aliases,
        "kind": data.kind,
        "parent": _organization_ref(data.parent) if data.parent else None,
        "established": data.established,
        "sources": data.sources,
        "updated_at": data.updated_at,
        "provenance": provenance_json(data.provenance, ORGANIZATION_FACTS),
    }


def organization_detail_json(data: OrganizationData) -> dict:
    return organization_json(data) | {"memberships": [membership_json(m) for m in data.memberships]}


def membership_json(data: MembershipData) -> dict:
    return {
        "id": data.id,
        "member": _institution_ref(data.member) if data.member else None,
        "relation": data.relation,
        "since": data.since,
        "since_precision": _precision(data.since),
        "until": data.until,
        "until_precision": _precision(data.until),
        "coordinator": _institution_ref(data.coordinator) if data.coordinator else None,
        "financial_obligation": data.financial_obligation,
        "events": [
            {
                "date": event.date,
                "kind": event.kind,
                "organization": _organization_ref(event.organization) if event.organization else None,
                "precision": partial_date.parse(event.date),
            }
            for event in data.events
        ],
        "note": localized(data.note),
        "sources": data.sources,
        "updated_at": data.updated_at,
        "provenance": provenance_json(data.provenance, MEMBERSHIP_FACTS),
    }


def engagement_json(data: EngagementData) -> dict:
    return {
        "id": data.id,
        "start_date": data.start_date,
        "end_date": data.end_date,
        "title": localized(data.title),
        "place": localized(data.place),
        "country": data.country,
        "participants": [localized(participant) for participant in data.participants],
        "institution": _institution_ref(data.institution) if data.institution else None,
        "organization": _organization_ref(data.organization) if data.organization else None,
        "sources": data.sources,
        "updated_at": data.updated_at,
    }


def representation_json(data: RepresentationData) -> dict:
    return {
        "id": data.id,
        "country": data.country,
        "city": localized(data.city),
        "city_country": data.city_country,
        "source_text": data.source_text,
        "organizations": [_organization_ref(organization) for organization in data.organizations],
        "coordinator": _institution_ref(data.coordinator) if data.coordinator else None,
        "sources": data.sources,
        "updated_at": data.updated_at,
    }


def _page(items: list[dict], following: str | None = None) -> dict:
    return {"items": items, "next_cursor": following}


async def list_institutions(session: AsyncSession, country: str | None) -> dict:
    found = await RegistryRead(session).institution_list(country, reads.INSTITUTION_OUT)
    return _page([institution_json(item) for item in found])


async def get_institution(session: AsyncSession, code: str) -> dict:
    found = await RegistryRead(session).institution_by_code(code, reads.INSTITUTION_OUT)
    if found is None:
        raise NotFound("institution", code)
    return institution_json(found)


async def page_organizations(
    session: AsyncSession, query: OrganizationQuery, limit: int, cursor: str | None, *, with_memberships: bool
) -> dict:
    ask = reads.ORGANIZATION_DETAIL if with_memberships else reads.ORGANIZATION_OUT
    page = await RegistryRead(session).organization_page(query, Window(limit, cursor), ask)
    mapped = organization_detail_json if with_memberships else organization_json
    return _page([mapped(item) for item in page.items], page.next_cursor)


async def get_organization(session: AsyncSession, organization_id: uuid.UUID) -> dict:
    found = await RegistryRead(session).organization(organization_id, reads.ORGANIZATION_DETAIL)
    return organization_detail_json(found)


async def get_membership(session: AsyncSession, membership_id: uuid.UUID) -> dict:
    return membership_json(await RegistryRead(session).membership(membership_id, reads.MEMBERSHIP_OUT))


async def page_engagements(
    session: AsyncSession, *, year: int | None, organization: str | None, limit: int, cursor: str | None
) -> dict:
    organization_id = await resolve_organization_id(session, organization) if organization else None
    page = await RegistryRead(session).engagement_page(
        year=year, organization_id=organization_id, window=Window(limit, cursor),
        institution=reads.INSTITUTION_REF, organization=reads.ORGANIZATION_REF,
    )  # fmt: skip
    return _page([engagement_json(item) for item in page.items], page.next_cursor)


async def page_representations(
    session: AsyncSession, *, organization: str | None, limit: int, cursor: str | None
) -> dict:
    organization_id = await resolve_organization_id(session, organization) if organization else None
    page = await RegistryRead(session).representation_page(
        organization_id=organization_id, window=Window(limit, cursor),
        organizations=reads.ORGANIZATION_REF, coordinator=reads.INSTITUTION_REF,
    )  # fmt: skip
    return _page([representation_json(item) for item in page.items], page.next_cursor)


# The ETags GraphQL's `etag` fields serve, many at once through a DataLoader: the same values as the
# ETag of each entity's REST GET, which an edit checks its If-Match against.


async def institution_etags(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    found = await RegistryRead(session).institutions(ids, reads.INSTITUTION_OUT)
    return {item.id: etag_of_payload(institution_json(item)) for item in found}


async def organization_etags(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    found = await RegistryRead(session).organizations(ids, reads.ORGANIZATION_DETAIL)
    return {item.id: etag_of_payload(organization_detail_json(item)) for item in found}


async def membership_etags(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    found = await RegistryRead(session).memberships(ids, reads.MEMBERSHIP_OUT)
    return {item.id: etag_of_payload(membership_json(item)) for item in found}


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


async def _mark_edited(session: AsyncSession, row: Any, facts: dict[str, str], before: dict | None) -> int:
    """Marks the facts this write gives or changes `edited` by the audit entry it reserves for the write."""
    entry_id = await writes.reserve_entry_id(session)
    row.provenance = mark_edited(row.provenance or {}, facts, before, writes.snapshot(row), entry_id)
    return entry_id


async def create_institution(session: AsyncSession, principal: Principal, data: InstitutionIn) -> dict:
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
    entry_id = await _mark_edited(session, row, INSTITUTION_FACTS, None)
    await writes.save(session, principal, "institution", row, None, entry_id=entry_id)
    await session.flush()
    return await get_institution(session, row.code)


async def _locked_institution(session: AsyncSession, code: str, if_match: str | None) -> tuple[Institution, dict]:
    found = await repository.get_institution_by_code(session, code)
    return await locked_at_version(
        session, Institution, found.id if found else None, if_match, lambda _: get_institution(session, code),
        what="institution", key=code,
    )  # fmt: skip


async def update_institution(
    session: AsyncSession, principal: Principal, code: str, data: InstitutionPatch, if_match: str | None
) -> dict:
    require_admin(principal)
    row, current = await _locked_institution(session, code, if_match)
    document = {
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "country": row.country,
        "parent": current["parent"]["code"] if current["parent"] else None,
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
    entry_id = await _mark_edited(session, row, INSTITUTION_FACTS, before)
    await writes.save(session, principal, "institution", row, before, entry_id=entry_id)
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


async def create_organization(session: AsyncSession, principal: Principal, data: OrganizationIn) -> dict:
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
    entry_id = await _mark_edited(session, row, ORGANIZATION_FACTS, None)
    await writes.save(session, principal, "organization", row, None, entry_id=entry_id)
    await session.flush()
    return await get_organization(session, row.id)


async def update_organization(
    session: AsyncSession,
    principal: Principal,
    organization_id: uuid.UUID,
    data: OrganizationPatch,
    if_match: str | None,
) -> dict:
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
    entry_id = await _mark_edited(session, row, ORGANIZATION_FACTS, before)
    await writes.save(session, principal, "organization", row, before, entry_id=entry_id)
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
) -> dict:
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
    entry_id = await _mark_edited(session, row, MEMBERSHIP_FACTS, None)
    await writes.save(session, principal, "membership", row, None, entry_id=entry_id)
    await session.flush()
    return await get_membership(session, row.id)


async def _locked_membership(
    session: AsyncSession, membership_id: uuid.UUID, if_match: str | None
) -> tuple[Membership, dict]:
    return await locked_at_version(
        session, Membership, membership_id, if_match, lambda row: get_membership(session, row.id), what="membership"
    )


async def update_membership(
    session: AsyncSession, principal: Principal, membership_id: uuid.UUID, data: MembershipPatch, if_match: str | None
) -> dict:
    require_admin(principal)
    row, current = await _locked_membership(session, membership_id, if_match)
    document = {
        "member": current["member"]["code"],
        "relation": row.relation,
        "since": row.since,
        "until": row.until,
        "coordinator": current["coordinator"]["code"] if current["coordinator"] else None,
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
    entry_id = await _mark_edited(session, row, MEMBERSHIP_FACTS, before)
    await writes.save(session, principal, "membership", row, before, entry_id=entry_id)
    await session.flush()
    return await get_membership(session, row.id)


async def delete_membership(
    session: AsyncSession, principal: Principal, membership_id: uuid.UUID, if_match: str | None
) -> None:
    require_admin(principal)
    row, _ = await _locked_membership(session, membership_id, if_match)
    await writes.remove(session, principal, "membership", row)
    await session.flush()
