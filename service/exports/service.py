"""The registry's exports, read through its one read path (service/registry/reads.py) and written as they are read:
JSON Lines (the REST representations, provenance included), CSV (one row per membership) and Popolo JSON."""

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from service.core.caching import etag_of, json_bytes
from service.registry import reads
from service.registry.provenance import PROVENANCE_COLUMNS, cell, fact_at, provenance_cells
from service.registry.reads import (
    INSTITUTION_OUT,
    ORGANIZATION_DETAIL,
    ORGANIZATION_OUT,
    InstitutionData,
    MembershipAsk,
    OrganizationAsk,
    OrganizationData,
    RegistryRead,
)
from service.registry.repository import OrganizationQuery
from service.registry.service import institution_json, organization_detail_json

Format = Literal["jsonl", "csv", "popolo"]


async def etag(session: AsyncSession, format: Format, updated_since: dt.datetime | None) -> str:
    """Of this export as the registry stands: it changes with any change to an institution, organisation or
    membership, so a client's If-None-Match is answered without reading the registry itself."""
    latest, count = await reads.registry_version(session)
    since = updated_since.isoformat() if updated_since else ""
    return etag_of(f"{format}|{since}|{latest}|{count}".encode())


async def _institutions(session: AsyncSession, updated_since: dt.datetime | None) -> list[InstitutionData]:
    institutions = await RegistryRead(session).institution_list(None, INSTITUTION_OUT)  # a short list: one read
    return [i for i in institutions if updated_since is None or i.updated_at >= updated_since]


def _organizations(session: AsyncSession, updated_since: dt.datetime | None, ask: OrganizationAsk):
    return reads.organization_batches(session, OrganizationQuery(updated_since=updated_since), ask)


# --- JSON Lines -----------------------------------------------------------------------------------------------


async def json_lines(session: AsyncSession, updated_since: dt.datetime | None) -> AsyncIterator[bytes]:
    """One JSON object a line: every institution (`"type": "institution"`), then every organisation with its
    memberships (`"type": "organization"`), each as the REST API gives it, provenance included."""
    yield b"".join(
        json_bytes({"type": "institution"} | institution_json(item)) + b"\n"
        for item in await _institutions(session, updated_since)
    )
    async for batch in _organizations(session, updated_since, ORGANIZATION_DETAIL):
        yield b"".join(json_bytes({"type": "organization"} | organization_detail_json(item)) + b"\n" for item in batch)


# --- CSV ------------------------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "organization_id", "acronym", "name_lv", "name_en", "name_lt", "name_original", "kind", "parent_acronym",
    "member_code", "member_country", "relation", "since", "until", "coordinator_code", "financial_obligation",
    "events", "sources", *PROVENANCE_COLUMNS,
    "established", "established_provenance",  # added later: last, so a reader by position keeps its columns
]  # fmt: skip

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula, made plain text by a leading `'`."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value


def _csv_line(values: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([spreadsheet_safe(value) for value in values])
    return buffer.getvalue()


def _csv_row(row: tuple) -> list:
    (org_id, acronym, name, kind, parent, member, country, relation, since, until, coordinator, obligation, events,
     sources, organization_provenance, membership_provenance, established) = row  # fmt: skip
    return [
        org_id,
        acronym or "",
        name.get("lv") or "",
        name.get("en") or "",
        name.get("lt") or "",
        name.get("original") or "",
        kind,
        parent or "",
        member or "",
        country or "",
        relation or "",
        since or "",
        until or "",
        coordinator or "",
        "" if obligation is None else str(obligation).lower(),
        "; ".join(f"{e['date']} {e['kind']}" for e in events or []),
        " ".join(sources or []),
        *provenance_cells(organization_provenance, membership_provenance),
        established or "",
        cell(fact_at(organization_provenance, ("established",))),
    ]


async def csv_lines(session: AsyncSession, updated_since: dt.datetime | None) -> AsyncIterator[str]:
    """A header row, then a row per membership (an organisation without one gets one row), 500 rows a chunk."""
    yield _csv_line(CSV_COLUMNS)
    chunk: list[str] = []
    async for row in reads.export_rows(session, updated_since):
        chunk.append(_csv_line(_csv_row(row)))
        if len(chunk) == 500:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)


# --- Popolo ---------------------------------------------------------------------------------------------------
# http://www.popoloproject.com/specs/: national institutions and international organisations are both Popolo
# organizations (classification: their kind); a membership's member is an organization, its role the relation.

_NAME_ORDER = ("en", "lv", "lt", "original")


def _popolo_names(name: dict, aliases: list[str]) -> dict:
    primary = next(language for language in _NAME_ORDER if name.get(language))
    others = [{"name": name[language], "note": language} for language in _NAME_ORDER
              if language != primary and name.get(language)]  # fmt: skip
    return {"name": name[primary], "other_names": others + [{"name": alias, "note": "alias"} for alias in aliases]}


def _optional(**fields: object) -> dict:
    return {key: value for key, value in fields.items() if value is not None}


def popolo_institution(item: InstitutionData) -> dict:
    return {
        "id": str(item.id),
        **_popolo_names(item.name, item.aliases),
        "identifiers": [{"scheme": "institution_code", "identifier": item.code}],
        "classification": item.kind,
        **_optional(parent_id=str(item.parent_id) if item.parent_id else None),
        "updated_at": item.updated_at.isoformat(),
    }


def popolo_organization(item: OrganizationData) -> dict:
    return {
        "id": str(item.id),
        **_popolo_names(item.name, item.aliases),
        "identifiers": [{"scheme": "acronym", "identifier": item.acronym}] if item.acronym else [],
        "classification": item.kind,
        **_optional(parent_id=str(item.parent_id) if item.parent_id else None, founding_date=item.established),
        "updated_at": item.updated_at.isoformat(),
    }


async def popolo(session: AsyncSession, updated_since: dt.datetime | None) -> AsyncIterator[bytes]:
    """`{"organizations": […], "memberships": […]}`, dates in the precision the sources give (`1929`,
    `2010-05`, `2018-11-06`); the organisations, then (a second pass over the same snapshot) their memberships."""
    items = [json_bytes(popolo_institution(i)) for i in await _institutions(session, updated_since)]
    yield b'{"organizations":[' + b",".join(items)
    first = not items
    async for batch in _organizations(session, updated_since, ORGANIZATION_OUT):
        if batch:
            yield (b"" if first else b",") + b",".join(json_bytes(popolo_organization(o)) for o in batch)
            first = False
    yield b'],"memberships":['
    first = True
    async for batch in _organizations(session, updated_since, OrganizationAsk(memberships=MembershipAsk())):
        memberships = [
            json_bytes(
                {
                    "id": str(m.id),
                    "organization_id": str(m.organization_id),
                    "member": {"@type": "Organization", "id": str(m.member_id)},
                    "role": m.relation,
                    **_optional(start_date=m.since, end_date=m.until),
                    "updated_at": m.updated_at.isoformat(),
                }
            )  # fmt: skip
            for organization in batch
            for m in organization.memberships
        ]
        if memberships:
            yield (b"" if first else b",") + b",".join(memberships)
            first = False
    yield b"]}"
