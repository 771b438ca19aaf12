"""Reads `data/*.yaml` and writes it through the domains' rules, in one transaction."""

import logging
from pathlib import Path

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.db import upsert
from service.core.models import stable_id
from service.registry import models as registry
from service.registry.service import organization_search_fields
from service.seed.files import InstitutionsFile, RegistryFile

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data"


def _read(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


class UnknownReference(ValueError):
    pass


def _lookup(ids: dict[str, object], key: str | None, what: str):
    if key is None:
        return None
    if key not in ids:
        raise UnknownReference(f"seed data refers to unknown {what} {key!r}")
    return ids[key]


async def load_institutions(session: AsyncSession, data: InstitutionsFile) -> tuple[int, dict]:
    ids = {seed.code: stable_id("institution", seed.code) for seed in data.institutions}
    for seed in data.institutions:
        for alias in seed.aliases:
            ids[alias] = ids[seed.code]
    rows = [
        {
            "id": ids[seed.code],
            "code": seed.code,
            "name": seed.name.model_dump(exclude_none=True),
            "aliases": seed.aliases,
            "kind": seed.kind,
            "country": seed.country,
            "parent_id": _lookup(ids, seed.parent, "institution"),
            "notes": [note.model_dump(exclude_none=True, mode="json") for note in seed.notes],
            "sources": seed.sources,
        }
        for seed in data.institutions
    ]
    return await upsert(session, registry.Institution, rows, ["id"]), ids


async def load_registry(session: AsyncSession, data: RegistryFile, institutions: dict) -> int:
    orgs = {seed.key: stable_id("organization", seed.key) for seed in data.organizations}
    org_rows = []
    for seed in data.organizations:
        name = seed.name.model_dump(exclude_none=True)
        search_text, sort_key = organization_search_fields(seed.acronym, name, seed.aliases)
        org_rows.append(
            {
                "id": orgs[seed.key],
                "acronym": seed.acronym,
                "name": name,
                "aliases": seed.aliases,
                "kind": seed.kind,
                "parent_id": _lookup(orgs, seed.parent, "organization"),
                "established": seed.established,
                "search_text": search_text,
                "sort_key": sort_key,
                "sources": seed.sources,
            }
        )
    written = await upsert(session, registry.Organization, org_rows, ["id"])

    membership_rows = [
        {
            "id": stable_id("membership", seed.member, seed.organization, seed.relation.value),
            "organization_id": _lookup(orgs, seed.organization, "organization"),
            "member_id": _lookup(institutions, seed.member, "institution"),
            "relation": seed.relation.value,
            "since": seed.since,
            "until": seed.until,
            "coordinator_id": _lookup(institutions, seed.coordinator, "institution"),
            "financial_obligation": seed.financial_obligation,
            "events": [
                {"date": e.date, "kind": e.kind}
                | ({"organization_id": str(_lookup(orgs, e.organization, "organization"))} if e.organization else {})
                for e in seed.events
            ],
            "note": seed.note.model_dump(exclude_none=True) if seed.note else None,
            "sources": seed.sources,
        }
        for seed in data.memberships
    ]
    written += await upsert(session, registry.Membership, membership_rows, ["id"])

    engagement_rows = [
        {
            "id": stable_id("engagement", seed.start, seed.title.lv or seed.title.lt or ""),
            "start_date": seed.start,
            "end_date": seed.end,
            "title": seed.title.model_dump(exclude_none=True),
            "place": seed.place.model_dump(exclude_none=True),
            "country": seed.country,
            "participants": [p.model_dump(exclude_none=True) for p in seed.participants],
            "institution_id": _lookup(institutions, seed.institution, "institution"),
            "organization_id": _lookup(orgs, seed.organization, "organization"),
            "sources": seed.sources,
        }
        for seed in data.engagements
    ]
    written += await upsert(session, registry.Engagement, engagement_rows, ["id"])

    representation_rows, links = [], []
    for position, seed in enumerate(data.representations):
        representation_id = stable_id("representation", seed.country, seed.source_text)
        representation_rows.append(
            {
                "id": representation_id,
                "country": seed.country,
                "city": seed.city.model_dump(exclude_none=True),
                "city_country": seed.city_country,
                "source_text": seed.source_text,
                "coordinator_id": _lookup(institutions, seed.coordinator, "institution"),
                "position": position,
                "sources": seed.sources,
            }
        )
        links += [
            {
                "representation_id": representation_id,
                "organization_id": _lookup(orgs, key, "organization"),
                "position": i,
            }
            for i, key in enumerate(seed.organizations)
        ]
    written += await upsert(session, registry.Representation, representation_rows, ["id"])
    written += await upsert(
        session, registry.RepresentationOrganization, links, ["representation_id", "organization_id"]
    )
    return written


async def load_all(session: AsyncSession, data_dir: Path = DEFAULT_DATA_DIR) -> int:
    """Load every data file in one transaction; returns how many rows were inserted or changed."""
    async with session.begin():
        written, institutions = await load_institutions(
            session, InstitutionsFile.model_validate(_read(data_dir / "institutions.yaml"))
        )
        written += await load_registry(
            session, RegistryFile.model_validate(_read(data_dir / "registry.yaml")), institutions
        )
    log.info("seed data loaded: %d rows inserted or changed", written)
    return written
