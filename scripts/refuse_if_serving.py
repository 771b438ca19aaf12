"""Exit 1 with one line when `make run` is already running in this checkout (it holds .data/run.lock from
its first step, migrations and seed included) or something listens on HOST PORT, so that a second
`make run` touches nothing. Standard library only: it runs before .venv exists."""

import fcntl
import socket
import sys
import urllib.request
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".data"
host, port = sys.argv[1], int(sys.argv[2])
hint = f"stop it (Ctrl-C where it runs), or start another with `make run PORT={port + 1}`"

if (DATA / "run.lock").exists():
    with (DATA / "run.lock").open() as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            url_file = DATA / "run.url"
            running = url_file.read_text(encoding="utf-8").strip() if url_file.exists() else "its port"
            sys.exit(f"the service is already running on {running} (`make run` in this checkout): {hint}")

probe_host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
try:
    socket.create_connection((probe_host, port), timeout=1).close()
except OSError:
    sys.exit(0)  # nothing listens: free to start
address = f"http://{probe_host}:{port}"
try:
    with urllib.request.urlopen(f"{address}/healthz", timeout=2) as response:
        ours = response.status == 200
except OSError:
    ours = False
sys.exit(f"{'the service' if ours else 'another program'} is already running on {address}: {hint}")
