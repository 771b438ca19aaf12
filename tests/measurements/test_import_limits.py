"""An import as large as allowed is answered in bounded size while other requests go on; a larger one is refused
with the limit named."""

import asyncio
import statistics
import time

from service.measurements.csv_reader import MAX_ROWS
from service.measurements.rest import IMPORT_ERRORS_SHOWN
from tests.helpers import bearer

HEADER = "indicator_code,year,institution,value,comment\n"


def _import(client, token: str, body: str):
    headers = bearer(token) | {"Content-Type": "text/csv"}
    return client.post("/api/v1/measurements/import", content=body.encode(), headers=headers)


async def test_a_file_of_the_most_rows_all_failing_lists_the_first_errors_and_counts_them(client, tokens):
    body = HEADER + "".join(f"NO.{n},2024,,1,\n" for n in range(MAX_ROWS))
    probes: list[float] = []
    importing = asyncio.create_task(_import(client, tokens["VP"], body))
    while not importing.done():
        started = time.perf_counter()
        assert (await client.get("/healthz")).status_code == 200  # answered while the import runs
        probes.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    response = await importing
    assert response.status_code == 422, response.text[:500]
    problem = response.json()
    assert problem["errors_total"] == MAX_ROWS
    assert len(problem["errors"]) == IMPORT_ERRORS_SHOWN
    assert f"The first {IMPORT_ERRORS_SHOWN} are listed" in problem["detail"]
    assert len(response.content) < 50_000
    print(f"\n{MAX_ROWS} failing rows: {len(probes)} /healthz answers meanwhile, "
          f"p99 {1000 * statistics.quantiles(probes, n=100)[98] if len(probes) > 1 else 0:.1f} ms")  # fmt: skip
    assert len(probes) > 1


async def test_a_file_over_the_row_limit_is_refused_naming_it(client, tokens):
    body = HEADER + "".join(f"NO.{n},2024,,1,\n" for n in range(MAX_ROWS + 1))
    response = await _import(client, tokens["VP"], body)
    assert response.status_code == 422, response.text[:500]
    assert f"more than {MAX_ROWS} rows" in response.json()["detail"]
