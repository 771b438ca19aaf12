"""Fills a benchmark database at a chosen scale, on top of the seed data.

    python bench/generate.py --database-url URL --fresh --orgs 10000 --strategies 100 --years 5

`--fresh` drops and recreates the database (only one whose name contains `bench`), migrates it
with Alembic and loads the seed. Then: organisations with memberships (bulk COPY), copies of the
seed strategy under new keys (through the seed loader, as the tests do), and an approved actual
for every indicator, year and institution slot. Rows are deterministic for a given `--seed`.
"""

import argparse
import asyncio
import datetime as dt
import json
import random
import sys
import time
import uuid
from dataclasses import dataclass

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

from service.__main__ import alembic_config
from service.core.db import create_engine, create_sessionmaker
from service.core.models import stable_id
from service.registry.service import organization_search_fields
from service.seed.loader import DEFAULT_DATA_DIR, institution_ids, load_all, load_strategy, read_strategy
from service.settings import Settings
from service.strategy import values
from service.strategy.models import ValueKind

SEED_STRATEGY_FILE = DEFAULT_DATA_DIR / "strategy-2023-2027.yaml"
GENERATED_SOURCE = "bench"
# Who "posted" the generated actuals: an id no real token has, so they are told apart from posted ones.
GENERATOR_TOKEN = stable_id("bench", "generator")

# Latvian words with their English sense, so names read like the registry's and carry diacritics.
REGIONS = [
    ("Baltijas", "Baltic"),
    ("Eiropas", "European"),
    ("Ziemeļvalstu", "Nordic"),
    ("Starptautiskā", "International"),
    ("Austrumeiropas", "Eastern European"),
    ("Vidusjūras", "Mediterranean"),
    ("Pasaules", "World"),
    ("Reģionālā", "Regional"),
    ("Dienvidaustrumu", "South-Eastern"),
]
TOPICS = [
    ("robežsardzes", "Border Guard"),
    ("ugunsdzēsības un glābšanas", "Fire and Rescue"),
    ("policijas", "Police"),
    ("migrācijas", "Migration"),
    ("civilās aizsardzības", "Civil Protection"),
    ("cilvēktirdzniecības apkarošanas", "Anti-Trafficking"),
    ("kiberdrošības", "Cybersecurity"),
    ("ceļu satiksmes drošības", "Road Safety"),
    ("krīžu vadības", "Crisis Management"),
    ("tiesībaizsardzības", "Law Enforcement"),
    ("ieslodzījuma vietu", "Prison Service"),
    ("noziedzības novēršanas", "Crime Prevention"),
]
BODIES = [
    ("padome", "Council", "forum"),
    ("asociācija", "Association", "association"),
    ("komiteja", "Committee", "eu_committee"),
    ("darba grupa", "Working Group", "eu_working_group"),
    ("tīkls", "Network", "network"),
    ("aģentūra", "Agency", "eu_agency"),
    ("organizācija", "Organisation", "intergovernmental"),
    ("darba vienība", "Task Force", "task_force"),
]
CITIES = [
    ("Rīga", "Riga", "Ryga"),
    ("Viļņa", "Vilnius", "Vilnius"),
    ("Tallina", "Tallinn", "Talinas"),
    ("Varšava", "Warsaw", "Varšuva"),
    ("Brisele", "Brussels", "Briuselis"),
    ("Vīne", "Vienna", "Viena"),
    ("Ženēva", "Geneva", "Ženeva"),
    ("Strasbūra", "Strasbourg", "Strasbūras"),
    ("Hāga", "The Hague", "Haga"),
    ("Kopenhāgena", "Copenhagen", "Kopenhaga"),
    ("Liepāja", "Liepāja", "Liepoja"),
    ("Jūrmala", "Jūrmala", "Jūrmala"),
]
RELATIONS = ["member"] * 6 + ["partner"] * 2 + ["participant"] * 2

ORGANIZATION_COLUMNS = [
    "id",
    "acronym",
    "name",
    "aliases",
    "kind",
    "parent_id",
    "established",
    "search_text",
    "sort_key",
    "sources",
]
MEMBERSHIP_COLUMNS = [
    "id",
    "organization_id",
    "member_id",
    "relation",
    "since",
    "until",
    "coordinator_id",
    "financial_obligation",
    "events",
    "note",
    "sources",
]
MEASUREMENT_COLUMNS = [
    "id",
    "indicator_id",
    "year",
    "institution_id",
    "revision",
    "text",
    "kind",
    "number",
    "second",
    "comment",
    "source",
    "status",
    "posted_by",
    "posted_by_token",
    "reviewed_by",
    "reviewed_at",
]


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL as a libpq DSN for asyncpg."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _guard_bench_name(database_url: str) -> str:
    name = make_url(database_url).database or ""
    if "bench" not in name:
        raise SystemExit(f"refusing to drop or recreate {name!r}: a benchmark database's name contains 'bench'")
    return name


async def _maintenance_connection(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(database_url), database="postgres")


async def drop_database(database_url: str) -> None:
    name = _guard_bench_name(database_url)
    connection = await _maintenance_connection(database_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def fresh_database(database_url: str) -> None:
    """An empty database, migrated to head and holding the seed data."""
    name = _guard_bench_name(database_url)
    await drop_database(database_url)
    connection = await _maintenance_connection(database_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), "head")
    engine = create_engine(Settings(database_url=database_url))
    try:
        async with create_sessionmaker(engine)() as session:
            await load_all(session)
    finally:
        await engine.dispose()


def _partial_date(rng: random.Random, earliest: int, latest: int) -> str:
    """A date in the precision sources give: a year, a month or a day."""
    year = rng.randint(earliest, latest)
    precision = rng.random()
    if precision < 0.45:
        return f"{year}"
    if precision < 0.75:
        return f"{year}-{rng.randint(1, 12):02d}"
    return (dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))).isoformat()


@dataclass(frozen=True)
class Institution:
    id: uuid.UUID
    code: str
    country: str
    name_lv: str


def _organization(rng: random.Random, number: int, earlier_ids: list[uuid.UUID]) -> tuple:
    region_lv, region_en = rng.choice(REGIONS)
    topic_lv, topic_en = rng.choice(TOPICS)
    body_lv, body_en, kind = rng.choice(BODIES)
    city_lv, city_en, city_lt = rng.choice(CITIES)
    name = {
        "lv": f"{region_lv} {topic_lv} {body_lv} ({city_lv})",
        "en": f"{region_en} {topic_en} {body_en} ({city_en})",
    }
    if rng.random() < 0.2:
        name["lt"] = f"{region_en} {topic_en} {body_en} ({city_lt})"
    # Acronyms are unique in the registry: the Latvian initials, then the number in base 36.
    initials = "".join(word[0] for word in f"{region_lv} {topic_lv} {body_lv} {city_lv}".split()).upper()
    acronym = f"{initials}-{number:x}".upper() if rng.random() < 0.9 else None
    aliases = []
    if rng.random() < 0.2:
        english_initials = "".join(word[0] for word in f"{region_en} {topic_en} {body_en}".split())
        aliases.append(f"{english_initials}-{number}")
    search_text, sort_key = organization_search_fields(acronym, name, aliases)
    organization_id = stable_id("organization", f"bench:{number}")
    parent_id = rng.choice(earlier_ids) if earlier_ids and rng.random() < 0.1 else None
    established = _partial_date(rng, 1950, 2024) if rng.random() < 0.9 else None
    row = (
        organization_id,
        acronym,
        json.dumps(name, ensure_ascii=False),
        aliases,
        kind,
        parent_id,
        established,
        search_text,
        sort_key,
        [GENERATED_SOURCE],
    )
    return row, acronym or str(organization_id), established


def _memberships(
    rng: random.Random,
    organization_id: uuid.UUID,
    organization_key: str,
    established: str | None,
    institutions: list[Institution],
    coordinators: list[Institution],
) -> list[tuple]:
    rows = []
    first_year = int(established[:4]) if established else 1991
    for member in rng.sample(institutions, rng.choice([0, 1, 1, 2, 2, 2, 3, 4])):
        relation = rng.choice(RELATIONS)
        since = _partial_date(rng, max(first_year, 1991), 2025) if rng.random() < 0.85 else None
        until = _partial_date(rng, int(since[:4]), 2026) if since and rng.random() < 0.1 else None
        coordinator = rng.choice(coordinators) if rng.random() < 0.8 else None
        events = [{"date": since, "kind": "joined"}] if since else []
        note = None
        if since and coordinator and rng.random() < 0.3:
            note = {"lv": f"dalība kopš {since[:4]}. gada (sadarbību koordinē {coordinator.name_lv})"}
        rows.append(
            (
                stable_id("membership", member.code, organization_key, relation),
                organization_id,
                member.id,
                relation,
                since,
                until,
                coordinator.id if coordinator else None,
                rng.choice([True, False, None]),
                json.dumps(events),
                json.dumps(note, ensure_ascii=False) if note else None,
                [GENERATED_SOURCE],
            )
        )
    return rows


def _latvian_name(name_json: str, code: str) -> str:
    name = json.loads(name_json)
    return name.get("lv") or name.get("en") or code


async def add_organizations(connection: asyncpg.Connection, rng: random.Random, count: int) -> tuple[int, int]:
    """`count` organisations with 0-4 memberships each; returns (organisations, memberships) written."""
    institutions = [
        Institution(row["id"], row["code"], row["country"], _latvian_name(row["name"], row["code"]))
        for row in await connection.fetch("SELECT id, code, country, name FROM institution ORDER BY code")
    ]
    coordinators = [i for i in institutions if i.country == "LV"]
    organizations, memberships, ids = [], [], []
    for number in range(count):
        row, key, established = _organization(rng, number, ids)
        organizations.append(row)
        ids.append(row[0])
        memberships += _memberships(rng, row[0], key, established, institutions, coordinators)
    await connection.copy_records_to_table("organization", records=organizations, columns=ORGANIZATION_COLUMNS)
    await connection.copy_records_to_table("membership", records=memberships, columns=MEMBERSHIP_COLUMNS)
    return len(organizations), len(memberships)


async def add_strategies(database_url: str, count: int) -> int:
    """`count` copies of the seed strategy under new keys, through the seed loader as the tests do."""
    if count <= 0:
        return 0
    seed = read_strategy(SEED_STRATEGY_FILE)
    engine = create_engine(Settings(database_url=database_url))
    try:
        async with create_sessionmaker(engine)() as session:
            institutions = await institution_ids(session)
            await session.commit()
            async with session.begin():
                for number in range(1, count + 1):
                    title = seed.strategy.title.model_copy(
                        update={"lv": f"{seed.strategy.title.lv} (kopija Nr. {number})"}
                    )
                    strategy = seed.strategy.model_copy(update={"key": f"bench-{number:03d}", "title": title})
                    await load_strategy(session, seed.model_copy(update={"strategy": strategy}), institutions)
    finally:
        await engine.dispose()
    return count


def _comma(number: float, decimals: int) -> str:
    return f"{number:.{decimals}f}".replace(".", ",")


def actual_text(template: str | None, rng: random.Random) -> str:
    """An actual of the same kind as the indicator's printed value, within 10% of it."""
    parsed = values.parse(template) if template else values.ParsedValue(ValueKind.none)
    factor = 0.9 + 0.2 * rng.random()
    if parsed.kind == ValueKind.percent:
        return _comma(min(100.0, float(parsed.number) * factor), 1) + "%"
    if parsed.kind == ValueKind.change:
        change = float(parsed.number) * factor
        return ("+" if change >= 0 else "-") + _comma(abs(change), 0) + "%"
    if parsed.kind == ValueKind.pair:
        return f"{round(float(parsed.number) * factor)}/{round(float(parsed.second))}"
    if parsed.kind == ValueKind.number:
        decimals = 2 if "," in template or "." in template else 0
        return _comma(float(parsed.number) * factor, decimals)
    # A qualitative or missing target ("Palielinās", "-") is measured by a plain count.
    return str(rng.randint(1, 500))


NUMERIC_KINDS = {ValueKind.number.value, ValueKind.percent.value, ValueKind.pair.value, ValueKind.change.value}


async def add_actuals(connection: asyncpg.Connection, rng: random.Random, years: int) -> int:
    """One approved actual for every indicator and year from the period's start (and institution
    where the indicator has values per institution), shaped like the indicator's own values."""
    values_rows = await connection.fetch(
        """
        SELECT i.id AS indicator_id, s.period_start, s.period_end, v.year, v.institution_id, v.kind, v.text,
               inst.code AS institution_code
        FROM indicator i
        JOIN strategy s ON s.id = i.strategy_id
        JOIN indicator_value v ON v.indicator_id = i.id
        LEFT JOIN institution inst ON inst.id = v.institution_id
        ORDER BY i.sort_key, v.year
        """
    )
    first_goal_institution = {
        row["indicator_id"]: row["code"]
        for row in await connection.fetch(
            """
            SELECT DISTINCT ON (i.id) i.id AS indicator_id, inst.code
            FROM indicator i
            JOIN goal_institution gi ON gi.goal_id = i.goal_id
            JOIN institution inst ON inst.id = gi.institution_id
            ORDER BY i.id, gi.position
            """
        )
    }
    # Per (indicator, institution): the printed numeric values by year, to shape the actuals on.
    templates: dict[tuple, dict[int, str]] = {}
    periods: dict[uuid.UUID, tuple[int, int]] = {}
    codes: dict[uuid.UUID, str] = {}
    for row in values_rows:
        periods[row["indicator_id"]] = (row["period_start"], row["period_end"])
        slot_templates = templates.setdefault((row["indicator_id"], row["institution_id"]), {})
        if row["kind"] in NUMERIC_KINDS:
            slot_templates[row["year"]] = row["text"]
        if row["institution_id"]:
            codes[row["institution_id"]] = row["institution_code"]
    # An indicator with values per institution takes actuals only per institution (as the service's rule says).
    per_institution = {indicator_id for indicator_id, institution_id in templates if institution_id}
    records = []
    reviewed_at = dt.datetime.now(dt.UTC)
    for (indicator_id, institution_id), by_year in templates.items():
        if institution_id is None and indicator_id in per_institution:
            continue
        start, end = periods[indicator_id]
        poster = codes[institution_id] if institution_id else first_goal_institution.get(indicator_id, "IeM")
        for year in range(start, min(end, start + years - 1) + 1):
            template = by_year.get(year) or next(iter(by_year.values()), None)
            text = actual_text(template, rng)
            parsed = values.parse(text)
            records.append(
                (
                    stable_id("measurement", str(indicator_id), str(year), str(institution_id or ""), "1"),
                    indicator_id,
                    year,
                    institution_id,
                    1,
                    text,
                    parsed.kind.value,
                    parsed.number,
                    parsed.second,
                    None,
                    "Ikgadējais pārskats (ģenerēts)",
                    "approved",
                    f"agency:{poster}",
                    GENERATOR_TOKEN,
                    "admin:-",
                    reviewed_at,
                )
            )
    await connection.copy_records_to_table("measurement", records=records, columns=MEASUREMENT_COLUMNS)
    return len(records)


@dataclass(frozen=True)
class Filled:
    organizations: int
    memberships: int
    strategies: int
    actuals: int
    seconds: float


async def fill(database_url: str, *, orgs: int, strategies: int, years: int, seed: int = 1) -> Filled:
    """Add `orgs` organisations, enough strategy copies for `strategies` in all, and the actuals."""
    started = time.perf_counter()
    rng = random.Random(seed)
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        existing = await connection.fetchval("SELECT count(*) FROM strategy")
        async with connection.transaction():
            organizations, memberships = await add_organizations(connection, rng, orgs)
        added_strategies = await add_strategies(database_url, strategies - existing)
        async with connection.transaction():
            actuals = await add_actuals(connection, rng, years)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return Filled(organizations, memberships, added_strategies, actuals, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="SQLAlchemy URL (postgresql+asyncpg://…)")
    parser.add_argument("--fresh", action="store_true", help="drop, create, migrate and seed the database first")
    parser.add_argument("--orgs", type=int, default=10_000, help="organisations to add")
    parser.add_argument("--strategies", type=int, default=100, help="strategies in all, the seed's included")
    parser.add_argument("--years", type=int, default=5, help="years of actuals from each strategy's start")
    parser.add_argument("--seed", type=int, default=1, help="random seed: the same seed gives the same rows")
    args = parser.parse_args()

    async def run() -> Filled:
        if args.fresh:
            await fresh_database(args.database_url)
        return await fill(args.database_url, orgs=args.orgs, strategies=args.strategies, years=args.years)

    filled = asyncio.run(run())
    print(
        f"generated {filled.organizations} organisations, {filled.memberships} memberships, "
        f"{filled.strategies} strategies, {filled.actuals} actuals in {filled.seconds:.1f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
