"""Webhook delivery under load: events/s delivered and the lag from commit to delivery, at a given write rate.

    scripts/with_postgres.sh .venv/bin/python bench/webhooks.py            # 500 writes/s for 6 s, ~20-30 s in all
    scripts/with_postgres.sh .venv/bin/python bench/webhooks.py --rate 200 --seconds 5 --dispatchers 2

On a fresh database (`interior_bench_webhooks_<hex>` beside DATABASE_URL's, dropped afterwards) one webhook
subscribes to `organization.created`. Writers in this process commit, at the rate asked, one transaction per
change holding what the journal writes for it (audit entry, NOTIFY and outbox event, so the outbox trigger queues
its delivery), and note when each commit returned. `python -m service deliver` (as many as asked, with the
default settings) sends to a receiver in a process of its own (uvicorn on 127.0.0.1), which notes when each
event arrived. Lag = arrival - commit; events/s = events delivered / (last arrival - first commit). After the writes the
dispatchers get DRAIN_LIMIT_S to deliver the rest; what is still queued then is counted, not waited for.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.__main__ import alembic_config  # noqa: E402
from service.core import outbox  # noqa: E402
from service.core.auth import Principal, Role  # noqa: E402
from service.core.db import create_engine, create_sessionmaker  # noqa: E402
from service.core.journal import CHANGES_CHANNEL, Signal  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.webhooks import service as webhooks  # noqa: E402
from service.webhooks.schemas import WebhookIn  # noqa: E402

ADMIN = Principal(token_id=None, role=Role.admin, institution_id=None, institution_code=None)
WRITERS = 8  # concurrent writer connections: enough to keep the rate while some wait on a commit
DRAIN_LIMIT_S = 15.0  # after the writes, how long the dispatchers get to deliver what is left


def receiver_app(log_path: str):
    """The receiver: answers 204 and keeps (entity id, arrival time) in memory, written out at shutdown."""
    arrivals: list[tuple[str, float]] = []

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await asyncio.to_thread(Path(log_path).write_text, json.dumps(arrivals))
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        arrivals.append((json.loads(body)["data"]["id"], time.time()))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def wait_for_port(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise SystemExit("the receiver did not start")


# What `journal.record` adds to a transaction for a change: its audit entry, its NOTIFY (which wakes the dispatchers
# on commit) and its outbox event (whose INSERT fires the trigger that queues the deliveries). Sent with asyncpg as
# one statement (its own transaction, one round trip), as the cheapest writer: the service's own write path costs
# ~25 ms of Python per write on this shared machine, and even three statements in a transaction (five round trips)
# fell behind 500 writes/s in some runs here.
JOURNALED_CHANGE = f"""
WITH journaled AS (
    INSERT INTO audit_entry (role, action, entity, entity_id, before, after)
    VALUES ('admin', 'create', $1, $2, NULL, $3)
), notified AS (
    SELECT pg_notify('{CHANGES_CHANNEL}', $4)
)
INSERT INTO outbox_event (id, type, ordering_key, data) SELECT $5, $6, $7, $8 FROM notified
"""


async def write_at_rate(database_url: str, rate: float, seconds: float) -> tuple[dict[str, float], float]:
    """One transaction per change at `rate` per second for `seconds` (stopping at 1.5 times that if the machine
    cannot keep up); each entity id with the moment its commit returned, and how long the writing took."""
    url = make_url(database_url)
    committed: dict[str, float] = {}
    total = int(rate * seconds)
    connections = [await connect(url) for _ in range(WRITERS)]
    start = time.monotonic() + 0.2  # the first slot: the writing takes from here
    stop_at = start + 1.5 * seconds
    slots = iter(range(total))
    notice = Signal("organization", None, None).payload()

    async def writer(connection: asyncpg.Connection) -> None:
        for n in slots:
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif time.monotonic() > stop_at:
                return
            entity_id = str(uuid.uuid4())
            after = {"id": entity_id, "acronym": f"B{n}", "name": {"en": f"Bench {n}"}, "kind": "bench"}
            event = outbox.event("organization", "create", entity_id, None, None, after)
            change = ("organization", entity_id, after, notice, event.id, event.type, event.ordering_key, event.data)
            await connection.execute(JOURNALED_CHANGE, *change)
            committed[entity_id] = time.time()

    try:
        await asyncio.gather(*(writer(connection) for connection in connections))
    finally:
        await asyncio.gather(*(connection.close() for connection in connections))
    return committed, time.monotonic() - start


async def drained(connection: asyncpg.Connection, deadline: float) -> None:
    """Until no delivery is pending, or the deadline."""
    pending = "SELECT count(*) FROM webhook_delivery WHERE state = 'pending'"
    while await connection.fetchval(pending) and time.monotonic() < deadline:  # noqa: ASYNC110 (polls the database)
        await asyncio.sleep(0.1)


async def connect(url) -> asyncpg.Connection:
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
    )
    await connection.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    return connection


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500, help="writes per second (default 500)")
    parser.add_argument("--seconds", type=float, default=6, help="how long to write (default 6)")
    parser.add_argument("--dispatchers", type=int, default=1, help="`python -m service deliver` processes")
    args = parser.parse_args()
    if not 0 < args.rate <= 5000 or not 0 < args.seconds <= 60 or not 1 <= args.dispatchers <= 8:
        raise SystemExit("keep it small: --rate up to 5000, --seconds up to 60, --dispatchers 1-8")
    base = os.environ.get("DATABASE_URL")
    if not base:
        raise SystemExit("run it under scripts/with_postgres.sh, which sets DATABASE_URL")
    url = make_url(base).set(database=f"interior_bench_webhooks_{uuid.uuid4().hex[:8]}")
    database_url = url.render_as_string(hide_password=False)
    admin = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password)
    await admin.execute(f'CREATE DATABASE "{url.database}"')
    processes: list[subprocess.Popen] = []
    scratch = tempfile.TemporaryDirectory(prefix="bench-webhooks-")
    log_path = str(Path(scratch.name) / "arrivals.json")
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(database_url), "head")
        port = free_port()
        receiver = subprocess.Popen(  # noqa: ASYNC220 (starting it does not wait)
            [sys.executable, __file__, "--receive", str(port), log_path], cwd=ROOT, stderr=subprocess.DEVNULL
        )
        processes.append(receiver)
        await wait_for_port(port)
        settings = Settings(database_url=database_url, webhook_allowed_hosts=["127.0.0.1"], webhook_require_https=False)
        engine = create_engine(settings)
        async with create_sessionmaker(engine)() as session:
            hook = WebhookIn(url=f"http://127.0.0.1:{port}/hook", event_types=["organization.created"])
            await webhooks.create(session, ADMIN, hook, settings)
            await session.commit()
        await engine.dispose()
        env = os.environ | {"DATABASE_URL": database_url, "WEBHOOK_ALLOWED_HOSTS": '["127.0.0.1"]',
                            "WEBHOOK_REQUIRE_HTTPS": "false", "LOG_LEVEL": "warning"}  # fmt: skip
        for _ in range(args.dispatchers):
            deliver = [sys.executable, "-m", "service", "deliver"]
            processes.append(subprocess.Popen(deliver, cwd=ROOT, env=env))  # noqa: ASYNC220 (starting it does not wait)
        bench_db = await connect(url)
        # One event first, delivered before the clock starts: the dispatchers are up (their start is not lag).
        await write_at_rate(database_url, 1, 1)
        await drained(bench_db, time.monotonic() + 60)
        committed, wrote_s = await write_at_rate(database_url, args.rate, args.seconds)
        await drained(bench_db, time.monotonic() + DRAIN_LIMIT_S)
        await bench_db.close()
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=30)
        arrivals = dict(json.loads(await asyncio.to_thread(Path(log_path).read_text)))
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        scratch.cleanup()
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        await admin.close()

    lags = sorted((arrivals[i] - at) * 1000 for i, at in committed.items() if i in arrivals)
    span = max(arrivals.values()) - min(committed.values())
    figures = {
        "writes": len(committed),
        "writes_per_s": round(len(committed) / wrote_s, 1),
        "delivered": len(lags),
        "undelivered_after_drain": len(committed) - len(lags),
        "events_per_s": round(len(lags) / span, 1),
        "lag_ms_p50": round(statistics.median(lags), 1),
        "lag_ms_p99": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 1),
        "lag_ms_max": round(lags[-1], 1),
        "dispatchers": args.dispatchers,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(figures))


def receive(port: int, log_path: str) -> None:
    import uvicorn

    uvicorn.run(receiver_app(log_path), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--receive":
        receive(int(sys.argv[2]), sys.argv[3])
    else:
        asyncio.run(main())
