"""Seed data as a baseline, never a revert.

Per row the data files give, or the seed applied before:
- the file gives what the seed last applied: nothing happens, whatever the live row holds;
- the live row already holds the file's values: only the baseline moves;
- the row is missing and the seed never applied it: it is inserted;
- the live row is still what the seed last applied: it is updated, or deleted when the file no
  longer lists it (with a tombstone, as an admin's delete leaves);
- anything else means someone changed the row since: the live row is kept and a conflict is
  recorded for admins (`GET /api/v1/seed/conflicts`) and printed by the command.
Every insert, update and delete is audited as the principal `seed`, naming the data file's version.
"""

import datetime as dt
import hashlib
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Table, and_, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

import service.models  # noqa: F401  (every table, so that references from any of them are seen)
from service.core import audit
from service.core.auth import SEED
from service.seed.models import SeedBaseline, SeedConflict

_TIMESTAMPS = frozenset({"created_at", "updated_at"})
# The parents tables declare for the changes feed (`journal_parent`), by table, for rows read as plain values.
_JOURNAL_PARENTS = {
    mapper.class_.__tablename__: mapper.class_.journal_parent
    for mapper in SQLModel._sa_registry.mappers
    if hasattr(mapper.class_, "journal_parent")
}


def _parent(table: Table, row: dict) -> tuple[str, object] | None:
    declared = _JOURNAL_PARENTS.get(table.name)
    return (declared[0], row[declared[1]]) if declared else None


_SEED_LOCK = 0x5EED  # two seeds started at once (two containers) take turns


@dataclass(frozen=True)
class DataFile:
    name: str
    version: str  # sha256 of the file's bytes: the same file gives the same version on every machine

    @classmethod
    def read(cls, path: Path) -> "DataFile":
        return cls(path.name, "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest())

    def provenance(self) -> dict:
        return {"seed_data": {"file": self.name, "version": self.version}}


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"no JSON form for {type(value).__name__}")


def as_json(values: dict) -> dict:
    return json.loads(json.dumps(values, default=_plain))


def fingerprint(values: dict) -> str:
    """The same for equal values, whether they come from a data file or back from the database. A row seeded
    before rows had a provenance (migration 0010) holds `{}`: as if the column were not there, so an untouched one
    still matches its baseline and takes the file's provenance."""
    if values.get("provenance") == {}:
        values = {name: value for name, value in values.items() if name != "provenance"}
    canonical = json.dumps(values, default=_plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _agree_but_for_provenance(current: dict, values: dict) -> bool:
    if "provenance" not in values:
        return False

    def without(row: dict) -> dict:
        return {name: value for name, value in row.items() if name != "provenance"}

    return fingerprint(without(current)) == fingerprint(without(values))


def _key(table: Table) -> list[str]:
    return [column.name for column in table.primary_key.columns]


def _entity_id(table: Table, values: dict) -> str:
    return "/".join(str(values[name]) for name in _key(table))


def _key_values(table: Table, entity_id: str) -> tuple:
    parts = entity_id.split("/")
    return tuple(table.c[name].type.python_type(part) for name, part in zip(_key(table), parts, strict=True))


def _label(values: dict | None) -> str:
    """A name a person recognises the row by, for the command's output."""
    for name in ("code", "acronym", "key"):
        if values and values.get(name):
            return str(values[name])
    for name in ("name", "title"):
        text = (values or {}).get(name)
        if isinstance(text, dict) and (words := text.get("en") or text.get("lv") or text.get("lt")):
            return words[:60]
    return ""


class Plan:
    """The rows the data files give, by table; which columns of a table the seed owns."""

    def __init__(self, admin_columns: dict[str, frozenset[str]]):
        self.admin_columns = admin_columns  # columns only admins set (task roles): never compared or written
        self.rows: dict[str, dict[str, tuple[dict, DataFile]]] = defaultdict(dict)
        self.files: dict[str, DataFile] = {}

    def owned(self, table: Table) -> list[str]:
        skip = _TIMESTAMPS | self.admin_columns.get(table.name, frozenset())
        return [column.name for column in table.columns if column.name not in skip]

    def add(self, model: type, rows: list[dict], file: DataFile) -> None:
        table = model.__table__
        self.files[file.name] = file
        owned = set(self.owned(table))
        target = self.rows[table.name]
        for values in rows:
            if set(values) != owned:
                raise ValueError(f"seed rows of {table.name} must give exactly {sorted(owned)}")
            entity_id = _entity_id(table, values)
            if entity_id in target:
                raise ValueError(f"the seed data gives {table.name} {entity_id} twice")
            target[entity_id] = (values, file)


@dataclass(frozen=True)
class Conflict:
    entity: str
    entity_id: str
    reason: str
    detail: str
    label: str
    file: DataFile
    live: dict | None
    proposed: dict | None


@dataclass
class SeedReport:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.created + self.updated + self.deleted

    def lines(self) -> list[str]:
        kept = ""
        if self.conflicts:
            kept = f"; {len(self.conflicts)} row(s) kept as edited, see GET /api/v1/seed/conflicts"
        head = f"seed: {self.created} created, {self.updated} updated, {self.deleted} deleted{kept}"
        return [head] + [
            f"seed conflict: {c.entity} {c.entity_id}{f' ({c.label})' if c.label else ''}: {c.detail}"
            for c in self.conflicts
        ]


_DETAILS = {
    "edited": "changed since the seed last applied it, and the data file changes it too: the live row is kept; "
    "apply the file's values by hand, or write the live values into the data file",
    "deleted": "deleted since the seed applied it, and the data file changes it: it stays deleted; "
    "create it by hand if the file's values should stand",
    "exists": "exists but was not loaded from the data file, and differs from it: the live row is kept",
    "removed": "no longer in the data file, but changed since the seed applied it: the live row is kept; "
    "delete it by hand if it should go",
    "referenced": "no longer in the data file, but other records refer to it ({}): it is kept",
    "refused": "the database refused the data file's values ({}): the live row is kept",
}


class _Run:
    def __init__(self, session: AsyncSession, plan: Plan):
        self.session = session
        self.plan = plan
        self.report = SeedReport()
        self.baselines: dict[str, dict[str, SeedBaseline]] = defaultdict(dict)
        self.baseline_writes: list[dict] = []
        self.baseline_drops: list[tuple[str, str]] = []

    def conflict(self, table: Table, entity_id: str, reason: str, file: DataFile, live, proposed, *why) -> None:
        self.report.conflicts.append(
            Conflict(
                entity=table.name,
                entity_id=entity_id,
                reason=reason,
                detail=_DETAILS[reason].format(*why),
                label=_label(proposed or live),
                file=file,
                live=as_json(live) if live else None,
                proposed=as_json(proposed) if proposed else None,
            )
        )

    def applied(self, table: Table, entity_id: str, values: dict, file: DataFile) -> None:
        self.baseline_writes.append(
            {
                "entity": table.name,
                "entity_id": entity_id,
                "fingerprint": fingerprint(values),
                "data_file": file.name,
                "data_version": file.version,
            }
        )

    async def live(self, table: Table, entity_ids, *, lock: bool = False) -> dict[str, dict]:
        """The owned columns of these rows as they stand; `lock` holds them until the seed commits."""
        if not entity_ids:
            return {}
        key = [table.c[name] for name in _key(table)]
        wanted = [_key_values(table, entity_id) for entity_id in entity_ids]
        stmt = select(*(table.c[name] for name in self.plan.owned(table)))
        stmt = stmt.where(tuple_(*key).in_(wanted) if len(key) > 1 else key[0].in_([w[0] for w in wanted]))
        if lock:
            stmt = stmt.with_for_update()
        rows = (dict(row._mapping) for row in await self.session.execute(stmt))
        return {_entity_id(table, row): row for row in rows}

    def _where(self, table: Table, entity_id: str):
        return and_(*(table.c[n] == v for n, v in zip(_key(table), _key_values(table, entity_id), strict=True)))

    async def forward(self, table: Table) -> list[tuple[str, dict, SeedBaseline]]:
        """Insert and update one table's rows; returns the rows to delete once their dependants are gone."""
        rows = self.plan.rows.get(table.name, {})
        baselines = self.baselines.get(table.name, {})
        live = await self.live(table, rows.keys() | baselines.keys())
        inserts, updates, removals = [], [], []
        for entity_id, (values, file) in rows.items():
            wanted, baseline, current = fingerprint(values), baselines.get(entity_id), live.get(entity_id)
            if baseline is not None and baseline.fingerprint == wanted:
                continue
            if current is not None and fingerprint(current) == wanted:
                self.applied(table, entity_id, values, file)
            elif current is None and baseline is None:
                inserts.append((entity_id, values, file))
            elif current is None:
                self.conflict(table, entity_id, "deleted", file, None, values)
            elif baseline is not None and fingerprint(current) == baseline.fingerprint:
                updates.append((entity_id, values, file))
            elif _agree_but_for_provenance(current, values):
                # An admin wrote the file's values by hand: settled, and the row keeps the provenance saying so.
                self.applied(table, entity_id, values, file)
            else:
                self.conflict(table, entity_id, "edited" if baseline else "exists", file, current, values)
        for entity_id, baseline in baselines.items():
            if entity_id in rows:
                continue
            current = live.get(entity_id)
            if current is None:
                self.baseline_drops.append((table.name, entity_id))
            elif fingerprint(current) == baseline.fingerprint:
                removals.append((entity_id, current, baseline))
            else:
                self.conflict(table, entity_id, "removed", self._file(baseline), current, None)
        await self.insert(table, inserts)
        await self.update(table, updates)
        return removals

    def _file(self, baseline: SeedBaseline) -> DataFile:
        return self.plan.files.get(baseline.data_file) or DataFile(baseline.data_file, "absent")

    async def insert(self, table: Table, items: list[tuple[str, dict, DataFile]]) -> None:
        if not items:
            return
        # Multi-row statements: a row may refer to another of the same table (a parent), checked at statement end.
        chunk = max(1, 30_000 // len(table.columns))  # within PostgreSQL's limit of bind parameters
        try:
            async with self.session.begin_nested():
                for start in range(0, len(items), chunk):
                    await self.session.execute(table.insert().values([v for _, v, _ in items[start : start + chunk]]))
            done = items
        except IntegrityError:  # find the rows the database refuses; the others still go in
            done, pending, refused = [], items, {}
            while pending:
                refused = {}
                for item in pending:
                    error = await self._try(table.insert().values(item[1]))
                    if error is None:
                        done.append(item)
                    else:
                        refused[item[0]] = (item, error)
                if len(refused) == len(pending):  # no row went in: what is left waits for nothing else
                    break
                pending = [item for item, _ in refused.values()]
            for (entity_id, values, file), error in refused.values():
                self.conflict(table, entity_id, "refused", file, None, values, error)
        for entity_id, values, file in done:
            self.report.created += 1
            self.applied(table, entity_id, values, file)
            await audit.record(
                self.session, SEED, "create", table.name, entity_id, None, as_json(values) | file.provenance(),
                parent=_parent(table, values),
            )  # fmt: skip

    async def update(self, table: Table, items: list[tuple[str, dict, DataFile]]) -> None:
        if not items:
            return
        baselines = self.baselines[table.name]
        # Read again under a row lock: an admin edit committed since the first read is kept, not overwritten.
        locked = await self.live(table, [entity_id for entity_id, _, _ in items], lock=True)
        for entity_id, values, file in items:
            current = locked.get(entity_id)
            if current is None or fingerprint(current) != baselines[entity_id].fingerprint:
                reason = "deleted" if current is None else "edited"
                self.conflict(table, entity_id, reason, file, current, values)
                continue
            changes = {name: value for name, value in values.items() if name not in _key(table)}
            if "updated_at" in table.c:
                changes["updated_at"] = func.now()
            error = await self._try(update(table).where(self._where(table, entity_id)).values(changes))
            if error is not None:
                self.conflict(table, entity_id, "refused", file, current, values, error)
            else:
                self.report.updated += 1
                self.applied(table, entity_id, values, file)
                await audit.record(
                    self.session, SEED, "update", table.name, entity_id, as_json(current),
                    as_json(values) | file.provenance(), parent=_parent(table, current),
                )  # fmt: skip

    async def _try(self, stmt) -> str | None:
        """Run one statement in a savepoint; what the database said if it refused."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(stmt)
        except IntegrityError as error:
            return " ".join(str(getattr(error.orig, "__cause__", None) or error.orig).split())[:300]
        return None

    async def remove(self, table: Table, items: list[tuple[str, dict, SeedBaseline]]) -> None:
        if not items:
            return
        locked = await self.live(table, [entity_id for entity_id, _, _ in items], lock=True)
        referenced = await self._referenced(table, list(locked.values()))
        for entity_id, _, baseline in items:
            current, file = locked.get(entity_id), self._file(baseline)
            if current is None:
                self.baseline_drops.append((table.name, entity_id))
            elif fingerprint(current) != baseline.fingerprint:
                self.conflict(table, entity_id, "removed", file, current, None)
            elif entity_id in referenced:
                self.conflict(table, entity_id, "referenced", file, current, None, ", ".join(referenced[entity_id]))
            else:
                await self.session.execute(delete(table).where(self._where(table, entity_id)))
                await audit.record(
                    self.session, SEED, "delete", table.name, entity_id, as_json(current), file.provenance(),
                    parent=_parent(table, current),
                )  # fmt: skip
                self.baseline_drops.append((table.name, entity_id))
                self.report.deleted += 1

    async def _referenced(self, table: Table, rows: list[dict]) -> dict[str, set[str]]:
        """Rows still referred to from any table (a cascade would take an admin's rows with them)."""
        found: dict[str, set[str]] = defaultdict(set)
        for other in SQLModel.metadata.sorted_tables:
            for foreign_key in other.foreign_keys:
                if foreign_key.column.table is not table:
                    continue
                by_value = defaultdict(list)
                for row in rows:
                    by_value[row[foreign_key.column.name]].append(_entity_id(table, row))
                stmt = select(foreign_key.parent).where(foreign_key.parent.in_(list(by_value))).distinct()
                for value in await self.session.scalars(stmt):
                    for entity_id in by_value[value]:
                        found[entity_id].add(other.name)
        return found

    async def record_baselines(self) -> None:
        if self.baseline_writes:
            stmt = pg_insert(SeedBaseline.__table__)
            stmt = stmt.on_conflict_do_update(
                index_elements=["entity", "entity_id"],
                set_={
                    "fingerprint": stmt.excluded.fingerprint,
                    "data_file": stmt.excluded.data_file,
                    "data_version": stmt.excluded.data_version,
                    "applied_at": func.now(),
                },
            )
            await self.session.execute(stmt, self.baseline_writes)
        if self.baseline_drops:
            await self.session.execute(
                delete(SeedBaseline).where(tuple_(SeedBaseline.entity, SeedBaseline.entity_id).in_(self.baseline_drops))
            )

    async def record_conflicts(self) -> None:
        """Keep the open conflicts as this run found them: new ones added, changed ones rewritten, settled ones gone."""
        recorded = {(c.entity, c.entity_id): c for c in await self.session.scalars(select(SeedConflict))}
        found = {(c.entity, c.entity_id): c for c in self.report.conflicts}
        settled = [key for key in recorded if key not in found]
        if settled:
            await self.session.execute(
                delete(SeedConflict).where(tuple_(SeedConflict.entity, SeedConflict.entity_id).in_(settled))
            )
        changed = [
            c
            for key, c in found.items()
            if key not in recorded
            or (recorded[key].reason, recorded[key].live, recorded[key].proposed) != (c.reason, c.live, c.proposed)
        ]
        if changed:
            stmt = pg_insert(SeedConflict.__table__)
            columns = ("reason", "detail", "data_file", "data_version", "live", "proposed")
            stmt = stmt.on_conflict_do_update(
                index_elements=["entity", "entity_id"],
                set_={name: stmt.excluded[name] for name in columns} | {"detected_at": func.now()},
            )
            rows = [
                {"entity": c.entity, "entity_id": c.entity_id, "reason": c.reason, "detail": c.detail,
                 "data_file": c.file.name, "data_version": c.file.version, "live": c.live, "proposed": c.proposed}
                for c in changed
            ]  # fmt: skip
            await self.session.execute(stmt, rows)


async def apply(session: AsyncSession, plan: Plan) -> SeedReport:
    """Bring the seeded tables to the data files wherever nobody else changed them; the caller commits."""
    await session.execute(select(func.pg_advisory_xact_lock(_SEED_LOCK)))
    run = _Run(session, plan)
    for baseline in await session.scalars(select(SeedBaseline)):
        run.baselines[baseline.entity][baseline.entity_id] = baseline
    tables = [t for t in SQLModel.metadata.sorted_tables if t.name in plan.rows or t.name in run.baselines]
    removals = {table.name: await run.forward(table) for table in tables}  # parents before children
    for table in reversed(tables):  # children before parents
        await run.remove(table, removals[table.name])
    await run.record_baselines()
    await run.record_conflicts()
    return run.report


async def open_conflicts(
    session: AsyncSession, *, entity: str | None, after: tuple[str, str] | None, limit: int
) -> list[SeedConflict]:
    stmt = select(SeedConflict)
    if entity is not None:
        stmt = stmt.where(SeedConflict.entity == entity)
    if after is not None:
        stmt = stmt.where(tuple_(SeedConflict.entity, SeedConflict.entity_id) > after)
    stmt = stmt.order_by(SeedConflict.entity, SeedConflict.entity_id).limit(limit + 1)
    return list((await session.scalars(stmt)).all())
