"""What a new user meets first, run as they run it: the CLI beside `make run`, and `make run` twice."""

import asyncio
import fcntl
import os
import socket
import subprocess
import sys
import time

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from service.settings import LOCAL_CLUSTER_URL_FILE
from tests.helpers import ROOT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "service", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "command", [["tokens", "create", "--role", "admin"], ["tokens", "list"], ["migrate"], ["seed"], ["createdb"]]
)
def test_a_command_that_cannot_reach_the_database_says_so_in_one_line(command):
    port = _free_port()  # nothing listens there
    env = os.environ | {"DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/interior"}
    result = _cli(*command, env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"cannot reach PostgreSQL at 127.0.0.1:{port} (")
    assert line.endswith("start it with `make run` or `make db-start`, or set DATABASE_URL")


def test_without_database_url_the_cli_finds_the_project_local_cluster():
    running = make_url(os.environ["DATABASE_URL"])
    if not LOCAL_CLUSTER_URL_FILE.exists() or make_url(LOCAL_CLUSTER_URL_FILE.read_text().strip()).port != running.port:
        pytest.skip("the suite runs against a DATABASE_URL of the caller's, not the project-local cluster")
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    pg_url = subprocess.run([ROOT / "scripts" / "pg.sh", "url"], capture_output=True, text=True, check=True).stdout
    found = _cli("createdb", env=env)  # idempotent: `make test` created the database already
    assert found.returncode == 0, found.stderr
    settings = subprocess.run(
        [sys.executable, "-c", "from service.settings import get_settings; print(get_settings().database_url)"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert settings.stdout == pg_url


def test_a_command_on_an_unmigrated_database_says_what_to_run():
    url = make_url(os.environ["DATABASE_URL"]).set(database=f"interior_empty_{os.getpid()}")
    env = os.environ | {"DATABASE_URL": url.render_as_string(hide_password=False)}
    assert _cli("createdb", env=env).returncode == 0
    try:
        result = _cli("tokens", "create", "--role", "admin", env=env)
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert result.stderr.strip() == (
            f"the database '{url.database}' at {url.host}:{url.port} has no tables yet: "
            "`make run` migrates and seeds it, or `python -m service migrate`"
        )
    finally:

        async def drop() -> None:
            admin = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database="postgres")
            await admin.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
            await admin.close()

        asyncio.run(drop())


def _make_run(port: int) -> subprocess.CompletedProcess:
    # Were it to go past its guard, it would try to migrate this unreachable database and say so.
    env = os.environ | {"DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{_free_port()}/interior"}
    return subprocess.run(
        ["make", "run", f"PORT={port}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def _touched_nothing(result: subprocess.CompletedProcess) -> None:
    assert result.returncode != 0
    assert "migrate" not in result.stdout and "cannot reach" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def running_service():
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(port)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the service did not start")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_make_run_beside_a_running_service_refuses_at_once(running_service):
    result = _make_run(running_service)
    _touched_nothing(result)
    assert f"the service is already running on http://127.0.0.1:{running_service}: stop it" in result.stderr


def test_make_run_while_another_is_starting_in_this_checkout_refuses():
    """The first `make run` holds .data/run.lock from before its migrations until it stops."""
    lock_file = ROOT / ".data" / "run.lock"
    existed = lock_file.exists()
    lock_file.parent.mkdir(exist_ok=True)
    with lock_file.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # a real `make run` holds it right now: the second must refuse all the same
        result = _make_run(_free_port())
        if not existed:
            lock_file.unlink()
    _touched_nothing(result)
    assert "is already running on" in result.stderr and "(`make run` in this checkout)" in result.stderr
