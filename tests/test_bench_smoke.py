"""The benchmark suite runs end to end at a tiny scale, so it cannot rot. How fast is not checked here."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "rest_list_first",
    "rest_list_deep",
    "rest_detail",
    "graphql_strategy",
    "graphql_strategies",
    "graphql_organizations",
    "rest_measurement_posts",
}


def test_bench_smoke_runs_every_scenario_and_writes_the_table(tmp_path):
    if not os.environ.get("DATABASE_URL"):
        pytest.fail("DATABASE_URL is not set: run the suite with `make test`, which starts PostgreSQL")
    # The runner takes the server from DATABASE_URL and builds a database of its own beside the suite's.
    prefix = f"interior_bench_smoke_{uuid.uuid4().hex[:8]}"
    finished = subprocess.run(
        [sys.executable, "bench/run.py", "--smoke", "--output-dir", str(tmp_path), "--database-prefix", prefix],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]

    results = json.loads((tmp_path / "latest.json").read_text())
    (scale,) = results["scales"]
    assert {row["id"] for row in scale["scenarios"]} == SCENARIOS
    for row in scale["scenarios"]:
        assert row["service"]["requests"] > 0 and row["service"]["errors"] == 0, row
        assert row["statements"] > 0 and 200 <= row["probe_status"] < 300, row
    # The Python limit answers with the service's rows, or its ratios would mean nothing.
    rest = [row for row in scale["scenarios"] if row["id"].startswith("rest_") and row["reference"]]
    assert {row["id"] for row in rest} == {"rest_list_first", "rest_list_deep", "rest_detail"}
    assert all(row["same_rows"] for row in rest), rest
    assert scale["exports"] and all(e["status"] == 200 and e["rows"] > 0 for e in scale["exports"].values())

    table = (tmp_path / "latest.md").read_text()
    assert "| scenario | mode | req/s | p50 ms | p99 ms |" in table
    assert all(row["title"] in table for row in scale["scenarios"])
    assert "### Targets" in table


def test_webhook_bench_delivers_every_write_and_reports_its_figures():
    if not os.environ.get("DATABASE_URL"):
        pytest.fail("DATABASE_URL is not set: run the suite with `make test`, which starts PostgreSQL")
    finished = subprocess.run(
        [sys.executable, "bench/webhooks.py", "--rate", "20", "--seconds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    assert figures["writes"] == figures["delivered"] > 0 and figures["undelivered_after_drain"] == 0
    assert figures["lag_ms_p50"] <= figures["lag_ms_p99"] <= figures["lag_ms_max"]
