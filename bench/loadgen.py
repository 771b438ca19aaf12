"""Driving load: `wrk` from a separate process, or a small httpx loop where wrk is missing.

A load is a list of request sequences, one per client. Read loads have one sequence that every
connection walks through; the write load gives each client its own slots. A request may name a
slot: it then carries `If-Match` with the slot's current ETag, and a 2xx answer's ETag becomes the
slot's next one, so each client corrects its own values the way an agency would.
"""

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

RESULT_MARK = "BENCH_RESULT "
# Requests slower than this count as timeouts; the heaviest GraphQL answers take seconds.
TIMEOUT_SECONDS = 60
# The httpx loop stops here even if the duration has not run out.
MAX_LOOP_REQUESTS = 200_000


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    slot: str | None = None  # names the value this request corrects
    etag: str | None = None  # the slot's ETag before the run


@dataclass(frozen=True)
class Load:
    base_url: str
    clients: list[list[Request]]  # one sequence per client; a single one is shared by every connection
    connections: int
    duration: float

    @property
    def chained(self) -> bool:
        return any(request.slot for sequence in self.clients for request in sequence)


@dataclass(frozen=True)
class Figures:
    tool: str
    requests: int
    seconds: float
    errors: int  # non-2xx answers, timeouts and socket errors
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "tool": self.tool,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 3),
            "errors": self.errors,
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "mean_ms": round(self.mean_ms, 2),
            "max_ms": round(self.max_ms, 2),
        }


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def install_wrk() -> str | None:
    """Install wrk from Debian's packages when running as root; returns why it is still missing, if it is."""
    if wrk_available():
        return None
    if os.geteuid() != 0:
        return "wrk is not installed and installing it needs root"
    for command in (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"], ["apt-get", "install", "-y", "wrk"]):
        if wrk_available():
            break
        subprocess.run(
            command, capture_output=True, timeout=300, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        )
    return None if wrk_available() else "apt-get could not install wrk"


def _lua_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _lua_request(request: Request) -> str:
    headers = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in request.headers.items())
    parts = [
        f"method = {_lua_string(request.method)}",
        f"path = {_lua_string(request.path)}",
        f"headers = {{{headers}}}",
    ]
    if request.body is not None:
        parts.append(f"body = {_lua_string(request.body)}")
    if request.slot is not None:
        parts.append(f"slot = {_lua_string(request.slot)}")
        parts.append(f"etag = {_lua_string(request.etag or '*')}")
    return "{" + ", ".join(parts) + "}"


_LUA_REPORT = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d,"mean_us":%d,"max_us":%d}\\n',
    mark, summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
"""

_LUA_DYNAMIC = """
local index = 0
local etags = {}
local pending = nil
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("client", threads)
end

function request()
  local sequence = clients[(client - 1) % #clients + 1]
  index = index % #sequence + 1
  local r = sequence[index]
  if r.slot then
    r.headers["If-Match"] = etags[r.slot] or r.etag
    pending = r.slot
  end
  return wrk.format(r.method, r.path, r.headers, r.body)
end
"""

# Only a chained load reads answers: one connection per thread, so a response follows its request.
_LUA_CHAIN = """
function response(status, headers, body)
  if pending and status < 300 then
    etags[pending] = headers["etag"] or headers["ETag"]
  end
end
"""


def lua_script(load: Load) -> str:
    lines = [f"mark = {_lua_string(RESULT_MARK)}"]
    if len(load.clients) == 1 and len(load.clients[0]) == 1 and not load.chained:
        (only,) = load.clients[0]
        lines += [f"wrk.method = {_lua_string(only.method)}", f"wrk.path = {_lua_string(only.path)}"]
        lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in only.headers.items()]
        if only.body is not None:
            lines.append(f"wrk.body = {_lua_string(only.body)}")
    else:
        sequences = ",\n".join("{" + ",\n".join(_lua_request(r) for r in sequence) + "}" for sequence in load.clients)
        lines.append("clients = {" + sequences + "}")
        lines.append(_LUA_DYNAMIC)
        if load.chained:
            lines.append(_LUA_CHAIN)
    lines.append(_LUA_REPORT)
    return "\n".join(lines)


def run_wrk(load: Load) -> Figures:
    # A chained load needs its own Lua state per client, so one thread per connection.
    threads = load.connections if load.chained else min(load.connections, os.cpu_count() or 1)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", encoding="utf-8", delete=False) as script:
        script.write(lua_script(load))
    try:
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{load.connections}",
            f"-d{max(1, round(load.duration))}s",
            f"--timeout={TIMEOUT_SECONDS}s",
            "--latency",
            "-s",
            script.name,
            load.base_url,
        ]
        finished = subprocess.run(command, capture_output=True, text=True, timeout=load.duration + TIMEOUT_SECONDS + 30)
    finally:
        Path(script.name).unlink()
    marked = [line for line in finished.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if not marked:
        raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stderr.strip() or finished.stdout.strip()}")
    result = json.loads(marked[-1][len(RESULT_MARK) :])
    return Figures(
        tool="wrk",
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        errors=result["errors"],
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        mean_ms=result["mean_us"] / 1000,
        max_ms=result["max_us"] / 1000,
    )


def _percentile(ordered: list[float], percent: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


async def _loop(load: Load) -> Figures:
    latencies: list[float] = []
    attempts = errors = 0
    deadline = time.perf_counter() + load.duration
    limits = httpx.Limits(max_connections=load.connections)
    async with httpx.AsyncClient(base_url=load.base_url, limits=limits, timeout=TIMEOUT_SECONDS) as client:

        async def connection(number: int) -> None:
            nonlocal attempts, errors
            sequence = load.clients[number % len(load.clients)]
            etags: dict[str, str] = {}
            index = 0
            while time.perf_counter() < deadline and attempts < MAX_LOOP_REQUESTS:
                request = sequence[index % len(sequence)]
                index += 1
                attempts += 1
                headers = dict(request.headers)
                if request.slot:
                    headers["If-Match"] = etags.get(request.slot, request.etag or "*")
                started = time.perf_counter()
                try:
                    response = await client.request(request.method, request.path, content=request.body, headers=headers)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                if response.status_code >= 300:
                    errors += 1
                elif request.slot:
                    etags[request.slot] = response.headers["etag"]

        started = time.perf_counter()
        await asyncio.gather(*(connection(n) for n in range(load.connections)))
        seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    return Figures(
        tool="httpx",
        requests=attempts,
        seconds=seconds,
        errors=errors,
        p50_ms=_percentile(ordered, 50) * 1000,
        p99_ms=_percentile(ordered, 99) * 1000,
        mean_ms=(sum(ordered) / len(ordered) * 1000) if ordered else 0.0,
        max_ms=(ordered[-1] * 1000) if ordered else 0.0,
    )


async def run_load(load: Load, use_wrk: bool) -> Figures:
    return await asyncio.to_thread(run_wrk, load) if use_wrk else await _loop(load)
