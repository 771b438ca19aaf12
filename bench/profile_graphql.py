"""Where a GraphQL request's time goes: pyinstrument over the service in-process.

    .venv/bin/pip install pyinstrument        # a tool of this script only, not a project dependency
    scripts/with_postgres.sh .venv/bin/python bench/profile_graphql.py --strategies 10

Builds `interior_bench_profile` (as the runner builds its databases), sends the chosen query once
to warm up, times `--requests` more without the profiler (ms per request, and CPU ms of this process: on a busy
machine the steadier figure), then profiles as many, all with
the response cache off, and writes the time by package, then pyinstrument's call tree.
"""

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import generate
import httpx
import queries
from pyinstrument import Profiler
from pyinstrument.frame import Frame
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
WAITING = "waiting on the database (awaits)"
QUERIES = {
    "strategies": queries.SERVICE_STRATEGIES,
    "organizations": queries.SERVICE_ORGANIZATIONS,
}


async def profile(database_url: str, query: str, requests: int) -> tuple[float, float, Profiler]:
    from service.app import create_app
    from service.settings import Settings

    # The response cache off: the profile is of computing the answer, not of replaying it.
    app = create_app(Settings(database_url=database_url, log_level="warning", response_cache_mb=0))
    body = json.dumps({"query": query})
    headers = {"Content-Type": "application/json"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
            (await client.post("/graphql", content=body, headers=headers)).raise_for_status()
            started, cpu_started = time.perf_counter(), time.process_time()
            for _ in range(requests):
                (await client.post("/graphql", content=body, headers=headers)).raise_for_status()
            ms_per_request = (time.perf_counter() - started) * 1000 / requests
            cpu_ms_per_request = (time.process_time() - cpu_started) * 1000 / requests
            profiler = Profiler(async_mode="enabled")
            with profiler:
                for _ in range(requests):
                    (await client.post("/graphql", content=body, headers=headers)).raise_for_status()
    return ms_per_request, cpu_ms_per_request, profiler


def _package(frame: Frame, parent: str) -> str:
    if frame.function == "[await]":
        return WAITING
    path = frame.file_path
    if frame.is_synthetic or not path:
        return parent
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if path.startswith(str(ROOT / "service")):
        return "service (the project's code)"
    if path.startswith("<"):
        return "built-in functions and generated code"
    module = path.split(f"/python{sys.version_info.major}.{sys.version_info.minor}/", 1)[-1].split("/", 1)[0]
    return f"standard library: {module.removesuffix('.py')}"


def time_by_package(root: Frame) -> Counter:
    """Seconds spent in each package's own code (self time), over the whole profile."""
    totals: Counter = Counter()
    frames = [(root, "?")]
    while frames:
        frame, parent = frames.pop()
        package = _package(frame, parent)
        totals[package] += frame.time - sum(child.time for child in frame.children)
        frames += [(child, package) for child in frame.children]
    return totals


def package_table(totals: Counter) -> str:
    whole = sum(totals.values())
    lines = ["| package | seconds | share |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {seconds:.2f} | {seconds / whole:.0%} |" for name, seconds in totals.most_common(12)]
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--query", choices=sorted(QUERIES), default="strategies")
    parser.add_argument("--strategies", type=int, default=10)
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=3)
    parser.add_argument("--output", type=Path, help="also write the call tree here")
    args = parser.parse_args()
    database_url = make_url(os.environ["DATABASE_URL"]).set(database="interior_bench_profile")
    database_url = database_url.render_as_string(hide_password=False)
    await generate.fresh_database(database_url)
    try:
        await generate.fill(database_url, orgs=args.orgs, strategies=args.strategies, years=5)
        ms_per_request, cpu_ms_per_request, profiler = await profile(database_url, QUERIES[args.query], args.requests)
    finally:
        await generate.drop_database(database_url)
    timing = (
        f"{args.query}, {args.strategies} strategies: {ms_per_request:.0f} ms per request unprofiled, "
        f"{cpu_ms_per_request:.0f} ms of it on this process's CPU (the rest: PostgreSQL, other processes)\n\n"
    )
    summary = timing + package_table(time_by_package(profiler.last_session.root_frame()))
    tree = profiler.output_text(unicode=True, color=False, show_all=False)
    if args.output:
        args.output.write_text(f"{summary}\n{tree}", encoding="utf-8")
    print(summary)
    print(tree)


if __name__ == "__main__":
    asyncio.run(main())
