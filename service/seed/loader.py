"""Reads `data/*.yaml` into the rows of the domains' tables, and applies them as a baseline (see baseline.py)."""

import asyncio
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.db import upsert
from service.core.models import stable_id
from service.registry import models as registry
from service.registry.service import organization_search_fields
from service.seed.baseline import DataFile, Plan, SeedReport, apply
from service.seed.files import InstitutionsFile, RegistryFile, StrategyFile
from service.strategy import models as strategy_models
from service.strategy import values

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data"
# Columns the data files do not give: admins set them, and the seed neither compares nor writes them.
ADMIN_COLUMNS = {strategy_models.TaskInstitution.__tablename__: frozenset({"role"})}

Rows = list[tuple[type, list[dict]]]


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


def institution_rows(data: InstitutionsFile) -> tuple[Rows, dict]:
    """The institutions' rows, and their ids by code and alias."""
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
            "provenance": seed.provenance.stored(),
        }
        for seed in data.institutions
    ]
    return [(registry.Institution, rows)], ids


def registry_rows(data: RegistryFile, institutions: dict) -> Rows:
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
                "provenance": seed.provenance.stored(),
            }
        )
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
            "provenance": seed.provenance.stored(),
        }
        for seed in data.memberships
    ]
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
    return [
        (registry.Organization, org_rows),
        (registry.Membership, membership_rows),
        (registry.Engagement, engagement_rows),
        (registry.Representation, representation_rows),
        (registry.RepresentationOrganization, links),
    ]


async def institution_ids(session: AsyncSession) -> dict[str, object]:
    """Institution ids by code and by alias, as data files refer to them."""
    ids: dict[str, object] = {}
    for row in await session.execute(
        select(registry.Institution.id, registry.Institution.code, registry.Institution.aliases)
    ):
        ids[row.code] = row.id
        ids.update(dict.fromkeys(row.aliases, row.id))
    return ids


def _value_row(indicator_id, strategy, code: str, year: str, text: str, institution, footnotes) -> dict:
    parsed = values.parse(text)
    year_number = int(year)
    return {
        "id": stable_id("indicator_value", strategy.key, code, year, str(institution or "")),
        "indicator_id": indicator_id,
        "year": year_number,
        "institution_id": institution,
        "role": (
            strategy_models.ValueRole.baseline
            if year_number == strategy.baseline_year
            else strategy_models.ValueRole.target
        ).value,
        "text": text,
        "kind": parsed.kind.value,
        "number": parsed.number,
        "second": parsed.second,
        "footnote_numbers": footnotes,
    }


def strategy_rows(data: StrategyFile, institutions: dict) -> Rows:
    """One strategy and its whole tree; ids derive from the strategy's key, so reloading keeps them."""
    seed = data.strategy
    key = seed.key
    strategy_id = stable_id("strategy", key)
    strategies = [
        {
            "id": strategy_id,
            "key": key,
            "title": seed.title.model_dump(exclude_none=True),
            "period_start": seed.period_start,
            "period_end": seed.period_end,
            "baseline_year": seed.baseline_year,
            "parent_id": stable_id("strategy", seed.parent) if seed.parent else None,
            "owner_id": _lookup(institutions, seed.owner, "institution"),
            "dates": [d.model_dump(exclude_none=True) for d in seed.dates],
            "footnote_numbers": seed.footnotes,
            "sources": seed.sources,
        }
    ]
    footnotes = [
        {
            "id": stable_id("footnote", key, str(f.number)),
            "strategy_id": strategy_id,
            "number": f.number,
            "text": f.text,
        }
        for f in data.footnotes
    ]
    swot = [
        {
            "id": stable_id("swot", key, str(position)),
            "strategy_id": strategy_id,
            "kind": factor.kind,
            "position": position,
            "text": factor.text.model_dump(exclude_none=True),
        }
        for position, factor in enumerate(data.swot, start=1)
    ]
    areas, goals, goal_links, indicators, value_rows, directions, tasks, task_links = [], [], [], [], [], [], [], []
    for position, area in enumerate(data.areas, start=1):
        area_id = stable_id("area", key, area.code)
        areas.append(
            {
                "id": area_id,
                "strategy_id": strategy_id,
                "code": area.code,
                "position": position,
                "kind": area.kind.value,
                "title": area.title.model_dump(exclude_none=True),
            }
        )
        for goal in area.goals:
            goal_id = stable_id("goal", key, area.code, str(goal.number))
            goals.append(
                {
                    "id": goal_id,
                    "area_id": area_id,
                    "number": goal.number,
                    "title": goal.title.model_dump(exclude_none=True),
                    "institutions_text": goal.institutions_text,
                }
            )
            goal_links += [
                {"goal_id": goal_id, "institution_id": _lookup(institutions, code, "institution"), "position": i}
                for i, code in enumerate(goal.institutions)
            ]
            for indicator in goal.indicators:
                code = f"{area.code}.{goal.number}.{indicator.number}"
                indicator_id = stable_id("indicator", key, code)
                indicators.append(
                    {
                        "id": indicator_id,
                        "strategy_id": strategy_id,
                        "goal_id": goal_id,
                        "code": code,
                        "number": indicator.number,
                        "name": indicator.name.model_dump(exclude_none=True),
                        "unit": indicator.unit,
                        "direction": indicator.direction.value,
                        "footnote_numbers": indicator.footnotes,
                        "sort_key": f"{key}|{position:02d}|{goal.number:02d}|{indicator.number:02d}",
                    }
                )
                for year, text in indicator.values.items():
                    notes = indicator.value_footnotes.get(year, [])
                    value_rows.append(_value_row(indicator_id, seed, code, year, text, None, notes))
                for institution_code, by_year in indicator.institution_values.items():
                    institution = _lookup(institutions, institution_code, "institution")
                    for year, text in by_year.items():
                        value_rows.append(_value_row(indicator_id, seed, code, year, text, institution, []))
        for direction in area.action_directions:
            direction_id = stable_id("action_direction", key, area.code, str(direction.number))
            directions.append(
                {
                    "id": direction_id,
                    "area_id": area_id,
                    "number": direction.number,
                    "title": direction.title.model_dump(exclude_none=True),
                }
            )
            for task_position, task in enumerate(direction.tasks, start=1):
                task_id = stable_id("task", key, area.code, str(direction.number), str(task_position))
                tasks.append(
                    {
                        "id": task_id,
                        "strategy_id": strategy_id,
                        "action_direction_id": direction_id,
                        "position": task_position,
                        "number": task.number,
                        "parent_number": task.parent,
                        "text": {"lv": task.text},
                        "footnote_numbers": task.footnotes,
                        "sort_key": f"{key}|{position:02d}|{direction.number:02d}|{task_position:03d}",
                    }
                )
                task_links += [
                    {
                        "task_id": task_id,
                        "institution_id": _lookup(institutions, code, "institution"),
                        "position": i,
                        "written_as": code,
                    }
                    for i, code in enumerate(task.institutions)
                ]
    return [
        (strategy_models.Strategy, strategies),
        (strategy_models.Footnote, footnotes),
        (strategy_models.SwotFactor, swot),
        (strategy_models.PolicyArea, areas),
        (strategy_models.Goal, goals),
        (strategy_models.GoalInstitution, goal_links),
        (strategy_models.Indicator, indicators),
        (strategy_models.IndicatorValue, value_rows),
        (strategy_models.ActionDirection, directions),
        (strategy_models.Task, tasks),
        (strategy_models.TaskInstitution, task_links),
    ]


async def load_strategy(session: AsyncSession, data: StrategyFile, institutions: dict) -> None:
    """A strategy that is no data file's (synthetic copies for tests and the benchmark): written as is,
    without a baseline, so the seed leaves it alone."""
    for model, rows in strategy_rows(data, institutions):
        key = [column.name for column in model.__table__.primary_key.columns]
        await upsert(session, model, rows, key)


def read_strategy(path: Path) -> StrategyFile:
    return StrategyFile.model_validate(_read(path))


@dataclass(frozen=True)
class SeedData:
    institutions: tuple[DataFile, InstitutionsFile]
    registry: tuple[DataFile, RegistryFile]
    strategies: list[tuple[DataFile, StrategyFile]]


def read_all(data_dir: Path) -> SeedData:
    """Every data file, validated before anything is written."""
    institutions, registry_file = data_dir / "institutions.yaml", data_dir / "registry.yaml"
    return SeedData(
        institutions=(DataFile.read(institutions), InstitutionsFile.model_validate(_read(institutions))),
        registry=(DataFile.read(registry_file), RegistryFile.model_validate(_read(registry_file))),
        strategies=[(DataFile.read(path), read_strategy(path)) for path in sorted(data_dir.glob("strategy-*.yaml"))],
    )


def plan_of(data: SeedData) -> Plan:
    plan = Plan(ADMIN_COLUMNS)
    file, institutions = data.institutions
    rows, ids = institution_rows(institutions)
    parts = [(file, rows), (data.registry[0], registry_rows(data.registry[1], ids))]
    parts += [(file, strategy_rows(strategy, ids)) for file, strategy in data.strategies]
    for file, tables in parts:
        for model, table_rows in tables:
            plan.add(model, table_rows, file)
    return plan


async def load_all(session: AsyncSession, data_dir: Path = DEFAULT_DATA_DIR) -> SeedReport:
    """Apply every data file in one transaction, over nothing an admin changed since (baseline.py)."""
    data = await asyncio.to_thread(read_all, data_dir)
    plan = plan_of(data)
    async with session.begin():
        return await apply(session, plan)
