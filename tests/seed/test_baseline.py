"""The seed data is a baseline, never a revert: a reload applies a data file's row only over what the
seed itself last applied, keeps every admin edit and deletion, and says where the two disagree."""

import asyncio
import datetime as dt
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL, make_url

from service.__main__ import ROOT, alembic_config
from service.app import create_app
from service.core.auth import Role, create_token
from service.core.db import create_engine, create_sessionmaker
from service.core.models import stable_id
from service.seed.baseline import DataFile, SeedReport, apply, fingerprint
from service.seed.loader import DEFAULT_DATA_DIR, load_all, plan_of, read_all
from service.settings import Settings
from tests.helpers import bearer, if_match

SEEDED_TABLES = sorted(plan_of(read_all(DEFAULT_DATA_DIR)).rows)
WATCHED_TABLES = SEEDED_TABLES + ["audit_entry", "seed_baseline", "seed_conflict"]
CORTE = stable_id("organization", "CORTE")
ROADPOL = stable_id("organization", "ROADPOL")


async def _maintenance(url: URL) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database="postgres"
    )


async def _create_database(url: URL, template: str | None = None) -> None:
    connection = await _maintenance(url)
    try:
        await connection.execute(f'CREATE DATABASE "{url.database}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await connection.close()


async def _drop_database(url: URL) -> None:
    connection = await _maintenance(url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await connection.close()


def _named(database_url: str, purpose: str) -> URL:
    return make_url(database_url).set(database=f"interior_{purpose}_{uuid.uuid4().hex[:10]}")


@pytest.fixture(scope="module")
async def seeded_template(database_url: str) -> AsyncIterator[tuple[URL, SeedReport]]:
    """A database migrated and seeded once, from empty; each test starts from a copy."""
    url = _named(database_url, "seedtpl")
    await _create_database(url)
    rendered = url.render_as_string(hide_password=False)
    await asyncio.to_thread(command.upgrade, alembic_config(rendered), "head")
    engine = create_engine(Settings(database_url=rendered))
    async with create_sessionmaker(engine)() as session:
        first = await load_all(session)
    await engine.dispose()
    yield url, first
    await _drop_database(url)


@dataclass
class Service:
    client: httpx.AsyncClient
    admin: dict[str, str]
    sessionmaker: object

    async def seed(self, data_dir: Path = DEFAULT_DATA_DIR) -> SeedReport:
        async with self.sessionmaker() as session:
            return await load_all(session, data_dir)

    async def audit(self, entity_id) -> list[tuple[str, str]]:
        page = await self.client.get("/api/v1/audit", params={"entity_id": str(entity_id)}, headers=self.admin)
        assert page.status_code == 200, page.text
        return [(e["action"], e["role"]) for e in page.json()["items"]]

    async def conflicts(self) -> list[dict]:
        page = await self.client.get("/api/v1/seed/conflicts", headers=self.admin)
        assert page.status_code == 200, page.text
        return page.json()["items"]

    async def organization(self, organization_id) -> tuple[dict, str]:
        response = await self.client.get(f"/api/v1/organizations/{organization_id}")
        assert response.status_code == 200, response.text
        return response.json(), response.headers["etag"]

    async def rename(self, organization_id, name: dict) -> None:
        """The admin edit a user makes: the whole name object, sent with the ETag it was read under."""
        _, etag = await self.organization(organization_id)
        response = await self.client.patch(
            f"/api/v1/organizations/{organization_id}", json={"name": name}, headers=self.admin | {"If-Match": etag}
        )
        assert response.status_code == 200, response.text


async def _serve(url: URL) -> AsyncIterator[Service]:
    settings = Settings(database_url=url.render_as_string(hide_password=False))
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        _, token = await create_token(session, Role.admin, None, None, "seed tests")
        await session.commit()
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
                yield Service(client, bearer(token), sessionmaker)
    finally:
        await engine.dispose()


@pytest.fixture
async def service(seeded_template, database_url: str) -> AsyncIterator[Service]:
    url = _named(database_url, "seed")
    await _create_database(url, template=seeded_template[0].database)
    try:
        async for running in _serve(url):
            yield running
    finally:
        await _drop_database(url)


def _words(name: dict) -> dict:
    """A localized text without the languages it does not have."""
    return {language: words for language, words in name.items() if words is not None}


def _copy_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    if not data.exists():
        shutil.copytree(DEFAULT_DATA_DIR, data)
    return data


def _edit(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the data files with one text of one file changed, as a data maintainer would edit it."""
    data = _copy_data(tmp_path)
    path = data / file
    content = path.read_text(encoding="utf-8")
    assert content.count(old) == 1, f"{old!r} is not unique in {file}"
    path.write_text(content.replace(old, new), encoding="utf-8")
    return data


async def _physical_state(sessionmaker) -> dict[str, tuple]:
    """Every watched table's row count and the physical identity of its rows: any write, even of equal
    values, gives a row a new (ctid, xmin)."""
    identity = "md5(string_agg(ctid::text || ':' || xmin::text, ',' ORDER BY ctid))"
    async with sessionmaker() as session:
        return {
            table: (await session.execute(text(f"SELECT count(*), {identity} FROM {table}"))).one()
            for table in WATCHED_TABLES
        }


async def test_the_first_run_on_an_empty_database_loads_everything_as_seed(seeded_template, service):
    _, first = seeded_template
    plan = plan_of(read_all(DEFAULT_DATA_DIR))
    assert first.created == sum(len(rows) for rows in plan.rows.values()) > 1000
    assert (first.updated, first.deleted, first.conflicts) == (0, 0, [])
    versions = {name: DataFile.read(DEFAULT_DATA_DIR / name).version for name in plan.files}
    async with service.sessionmaker() as session:
        entries = (
            await session.execute(
                text("SELECT role, action, after -> 'seed_data' AS seed_data FROM audit_entry WHERE role = 'seed'")
            )
        ).all()
        baselines = await session.scalar(text("SELECT count(*) FROM seed_baseline"))
    assert len(entries) == baselines == first.created
    assert {e.action for e in entries} == {"create"}
    assert {(e.seed_data["file"], e.seed_data["version"]) for e in entries} == set(versions.items())


async def test_an_unchanged_data_file_writes_nothing(service):
    before = await _physical_state(service.sessionmaker)
    async with service.sessionmaker() as session:
        async with session.begin():
            report = await apply(session, plan_of(read_all(DEFAULT_DATA_DIR)))
            # PostgreSQL gives a transaction an id at its first write: none means nothing was written.
            assert await session.scalar(select(func.pg_current_xact_id_if_assigned())) is None
    assert (report.written, report.conflicts) == (0, [])
    assert await _physical_state(service.sessionmaker) == before


async def test_an_admin_rename_survives_a_reseed_and_a_file_change_to_it_is_reported(service, tmp_path):
    original, _ = await service.organization(CORTE)
    edited = {"lv": original["name"]["lv"], "en": "Confederation of Road Transport Enforcement Organisations"}
    await service.rename(CORTE, edited)

    report = await service.seed()
    assert (report.written, report.conflicts) == (0, [])
    assert _words((await service.organization(CORTE))[0]["name"]) == edited

    changed = _edit(
        tmp_path, "registry.yaml", "en: Confederation of Organisations in Road Transport Enforcement",
        "en: Confederation of Organisations in Road Transport Enforcement (CORTE)",
    )  # fmt: skip
    report = await service.seed(changed)
    assert report.written == 0
    (conflict,) = report.conflicts
    assert (conflict.entity, conflict.entity_id, conflict.reason) == ("organization", str(CORTE), "edited")
    assert f"seed conflict: organization {CORTE} (CORTE): changed since the seed last applied it" in "\n".join(
        report.lines()
    )
    assert _words((await service.organization(CORTE))[0]["name"]) == edited
    assert await service.audit(CORTE) == [("create", "seed"), ("update", "admin")]  # no revert

    (listed,) = await service.conflicts()
    assert _words(listed["live"]["name"]) == edited
    assert listed["proposed"]["name"]["en"] == "Confederation of Organisations in Road Transport Enforcement (CORTE)"
    assert listed["data_version"] == DataFile.read(changed / "registry.yaml").version
    assert (await service.client.get("/api/v1/seed/conflicts")).status_code == 401

    # Reported again, written once: a rerun over the same conflict writes nothing.
    before = await _physical_state(service.sessionmaker)
    assert [c.entity_id for c in (await service.seed(changed)).conflicts] == [str(CORTE)]
    assert await _physical_state(service.sessionmaker) == before

    # The admin takes the file's name: the two agree again, the conflict is settled, the row is not written.
    await service.rename(CORTE, listed["proposed"]["name"])
    report = await service.seed(changed)
    assert (report.written, report.conflicts) == (0, [])
    assert await service.conflicts() == []
    assert await service.audit(CORTE) == [("create", "seed"), ("update", "admin"), ("update", "admin")]


async def test_a_file_change_to_an_untouched_row_is_applied_and_audited_as_seed(service, tmp_path):
    changed = _edit(
        tmp_path, "registry.yaml", "en: European Roads Policing Network", "en: European Roads Policing Network ROADPOL"
    )
    report = await service.seed(changed)
    assert (report.created, report.updated, report.deleted, report.conflicts) == (0, 1, 0, [])
    organization, _ = await service.organization(ROADPOL)
    assert _words(organization["name"]) == {
        "lv": "Eiropas ceļu policijas tīkls",
        "en": "European Roads Policing Network ROADPOL",
    }
    page = await service.client.get("/api/v1/audit", params={"entity_id": str(ROADPOL)}, headers=service.admin)
    *_, entry = page.json()["items"]
    assert (entry["action"], entry["role"]) == ("update", "seed")
    assert entry["before"]["name"]["en"] == "European Roads Policing Network"
    assert entry["after"]["name"]["en"] == "European Roads Policing Network ROADPOL"
    assert entry["after"]["seed_data"] == {
        "file": "registry.yaml",
        "version": DataFile.read(changed / "registry.yaml").version,
    }
    assert (await service.seed(changed)).written == 0


async def test_a_membership_deleted_by_an_admin_stays_deleted(service, tmp_path):
    membership = stable_id("membership", "IeM", "CORTE", "member")
    path = f"/api/v1/memberships/{membership}"
    deleted = await service.client.delete(path, headers=await if_match(service.client, path, service.admin))
    assert deleted.status_code == 204, deleted.text

    async def listed() -> bool:
        organization, _ = await service.organization(CORTE)
        return str(membership) in {m["id"] for m in organization["memberships"]}

    report = await service.seed()
    assert (report.written, report.conflicts) == (0, [])
    assert not await listed()

    changed = _edit(
        tmp_path, "registry.yaml", "dalība kopš 2011.gada (sadarbību koordinē Valsts policija)",
        "dalība kopš 2011. gada (sadarbību koordinē Valsts policija)",
    )  # fmt: skip
    report = await service.seed(changed)
    assert report.written == 0
    assert [(c.entity_id, c.reason) for c in report.conflicts] == [(str(membership), "deleted")]
    assert not await listed()
    assert await service.audit(membership) == [("create", "seed"), ("delete", "admin")]


async def test_an_indicator_unit_corrected_by_an_admin_is_kept(service, tmp_path):
    indicators = (await service.client.get("/api/v1/indicators", params={"limit": 500})).json()["items"]
    indicator = next(i for i in indicators if i["unit"] == "rate_per_100k")
    read = await service.client.get(f"/api/v1/indicators/{indicator['id']}")
    corrected = await service.client.patch(
        f"/api/v1/indicators/{indicator['id']}",
        json={"unit": "per_100k_residents"},
        headers=service.admin | {"If-Match": read.headers["etag"]},
    )
    assert corrected.status_code == 200, corrected.text

    report = await service.seed()
    assert (report.written, report.conflicts) == (0, [])
    assert (await service.client.get(f"/api/v1/indicators/{indicator['id']}")).json()["unit"] == "per_100k_residents"
    assert await service.audit(indicator["id"]) == [("create", "seed"), ("update", "admin")]


def _drop_from_registry(tmp_path: Path, *, engagements=(), memberships=(), organization: str | None = None) -> Path:
    """A copy of the data files without some rows of registry.yaml (by their index), or without one
    organisation and every row that refers to it."""
    data = _copy_data(tmp_path)
    path = data / "registry.yaml"
    registry = yaml.safe_load(path.read_text(encoding="utf-8"))
    registry["engagements"] = [e for i, e in enumerate(registry["engagements"]) if i not in engagements]
    registry["memberships"] = [m for i, m in enumerate(registry["memberships"]) if i not in memberships]
    if organization:
        registry["organizations"] = [o for o in registry["organizations"] if o.get("acronym") != organization]
        registry["memberships"] = [m for m in registry["memberships"] if m["organization"] != organization]
        assert all(e.get("organization") != organization for e in registry["engagements"])
        assert all(organization not in r["organizations"] for r in registry["representations"])
    path.write_text(yaml.safe_dump(registry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return data


async def test_rows_removed_from_the_data_file_go_only_when_nobody_changed_them(service, tmp_path):
    registry = yaml.safe_load((DEFAULT_DATA_DIR / "registry.yaml").read_text(encoding="utf-8"))
    engagement = registry["engagements"][0]
    engagement_id = stable_id("engagement", engagement["start"], engagement["title"]["lv"])
    corte_membership = stable_id("membership", "IeM", "CORTE", "member")
    position = next(i for i, m in enumerate(registry["memberships"]) if m["organization"] == "CORTE")
    path = f"/api/v1/memberships/{corte_membership}"
    edited = await service.client.patch(
        path, json={"until": "2024"}, headers=await if_match(service.client, path, service.admin)
    )
    assert edited.status_code == 200, edited.text
    since = dt.datetime.now(dt.UTC).isoformat()

    report = await service.seed(_drop_from_registry(tmp_path, engagements={0}, memberships={position}))
    assert (report.created, report.updated, report.deleted) == (0, 0, 1)
    assert [(c.entity_id, c.reason) for c in report.conflicts] == [(str(corte_membership), "removed")]
    engagements = (await service.client.get("/api/v1/engagements", params={"limit": 500})).json()["items"]
    assert str(engagement_id) not in {e["id"] for e in engagements}
    changes = (await service.client.get("/api/v1/changes", params={"since": since})).json()["items"]
    assert ("engagement", str(engagement_id), "delete") in {(c["entity"], c["id"], c["change"]) for c in changes}
    assert await service.audit(engagement_id) == [("create", "seed"), ("delete", "seed")]
    organization, _ = await service.organization(CORTE)
    assert [m["until"] for m in organization["memberships"] if m["id"] == str(corte_membership)] == ["2024"]


async def test_an_organisation_removed_from_the_file_stays_while_an_admin_row_refers_to_it(service, tmp_path):
    added = await service.client.post(
        f"/api/v1/organizations/{ROADPOL}/memberships",
        json={"member": "PMLP", "relation": "participant", "since": "2024"},
        headers=service.admin,
    )
    assert added.status_code == 201, added.text
    seeded_membership = stable_id("membership", "IeM", "ROADPOL", "member")

    report = await service.seed(_drop_from_registry(tmp_path, organization="ROADPOL"))
    assert report.deleted == 1  # the seed's own membership; the organisation is kept, not cascaded away
    assert [(c.entity_id, c.reason) for c in report.conflicts] == [(str(ROADPOL), "referenced")]
    assert "membership" in report.conflicts[0].detail
    organization, _ = await service.organization(ROADPOL)
    assert [m["id"] for m in organization["memberships"]] == [added.json()["id"]]
    assert await service.audit(seeded_membership) == [("create", "seed"), ("delete", "seed")]


async def _command(url: URL, *args: str) -> str:
    """`python -m service …` as `make run` calls it, against this database; its standard output."""
    env = os.environ | {"DATABASE_URL": url.render_as_string(hide_password=False)}
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "service", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_make_run_twice_keeps_an_admin_edit_of_an_english_name(database_url):
    """From a fresh clone: `make run`, an admin edits an organisation's English name, stop, `make run` again."""
    url = _named(database_url, "seedrun")
    await _create_database(url)
    try:
        await _command(url, "migrate")
        first = await _command(url, "seed")
        assert first.startswith("seed: ") and " created, 0 updated, 0 deleted\n" in first

        async for running in _serve(url):
            original, _ = await running.organization(CORTE)
            edited = _words(original["name"]) | {"en": "Confederation of Road Transport Enforcement Organisations"}
            await running.rename(CORTE, edited)
            before = await _physical_state(running.sessionmaker)

        await _command(url, "migrate")
        assert await _command(url, "seed") == "seed: 0 created, 0 updated, 0 deleted\n"

        async for running in _serve(url):
            name = _words((await running.organization(CORTE))[0]["name"])
            assert name == edited and name["lv"] == "Autotransporta tiesībaizsardzības organizācijas konfederācija"
            assert await running.audit(CORTE) == [("create", "seed"), ("update", "admin")]
            after = await _physical_state(running.sessionmaker)
        assert after == before  # the second start wrote nothing
    finally:
        await _drop_database(url)


async def test_rows_seeded_before_provenance_existed_take_the_files_provenance(service):
    """A database seeded before migration 0010: its rows hold `{}` and its baselines fingerprint rows without the
    column. The next seed fills in the file's provenance as an ordinary update, and reports no conflict."""
    plan = plan_of(read_all(DEFAULT_DATA_DIR))
    tables = ("institution", "organization", "membership")
    async with service.sessionmaker() as session:
        for table in tables:
            await session.execute(text(f"UPDATE {table} SET provenance = '{{}}'"))
            for entity_id, (values, _) in plan.rows[table].items():
                old = fingerprint({name: value for name, value in values.items() if name != "provenance"})
                await session.execute(
                    text("UPDATE seed_baseline SET fingerprint = :old WHERE entity = :table AND entity_id = :id"),
                    {"old": old, "table": table, "id": entity_id},
                )
        await session.commit()

    report = await service.seed()
    assert (report.updated, report.conflicts) == (sum(len(plan.rows[t]) for t in tables), [])
    ctif, _ = await service.organization(stable_id("organization", "CTIF"))
    assert ctif["provenance"]["name"]["en"]["basis"] == "translation"
    assert (await service.seed()).written == 0
