"""The deployment files are valid without a Docker engine: compose's own parser and hadolint check them."""

import json
import subprocess
import sys
from pathlib import Path

import compose

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = Path(compose.__file__).parent / "docker-compose"  # the binary: the package's wrapper always exits 0
HADOLINT = Path(sys.executable).parent / "hadolint"


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def test_compose_file_is_valid_and_runs_migrations_with_postgres():
    result = _run(str(COMPOSE), "-f", "docker-compose.yml", "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert '"postgres:15"' in result.stdout and "postgresql+asyncpg://" in result.stdout


def test_compose_runs_the_webhook_dispatcher_beside_the_api():
    result = _run(str(COMPOSE), "-f", "docker-compose.yml", "config", "--format", "json")
    services = json.loads(result.stdout)["services"]
    assert services["dispatcher"]["command"] == ["python", "-m", "service", "deliver"]
    assert services["dispatcher"]["environment"]["DATABASE_URL"] == services["api"]["environment"]["DATABASE_URL"]


def test_compose_rejects_a_broken_file(tmp_path):
    broken = tmp_path / "compose.yml"
    broken.write_text("services:\n  api:\n    image: x\n    ports: nope\n")
    assert _run(str(COMPOSE), "-f", str(broken), "config", "-q").returncode != 0


def test_dockerfile_passes_hadolint():
    result = _run(str(HADOLINT), "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
