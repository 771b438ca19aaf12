"""A client generated from the committed openapi/openapi.json works against the served app: what the document
declares (Bearer writes, ETag and 304, If-Match and 412, both CSV bodies) is what the service does."""

import asyncio
import importlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# openapi-python-client sends raw bodies only as application/octet-stream; the body it sends keeps its
# declared content type (text/csv).
CONFIG = "post_hooks: []\ncontent_type_overrides:\n  text/csv: application/octet-stream\n"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The client package, generated into a temp dir and imported."""
    target = tmp_path_factory.mktemp("generated")
    (target / "config.yaml").write_text(CONFIG)
    subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(ROOT / "openapi" / "openapi.json"),
         "--config", str(target / "config.yaml"), "--meta", "none", "--output-path", str(target / "interior_client")],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    sys.path.insert(0, str(target))
    try:
        yield importlib.import_module("interior_client")
    finally:
        sys.path.remove(str(target))
        for name in [n for n in sys.modules if n == "interior_client" or n.startswith("interior_client.")]:
            del sys.modules[name]


def _clients(generated, served_url, token):
    anonymous = generated.Client(base_url=served_url, raise_on_unexpected_status=True)
    writer = generated.AuthenticatedClient(base_url=served_url, token=token, raise_on_unexpected_status=True)
    return anonymous, writer


async def test_a_list_and_a_detail_revalidated_with_if_none_match(generated, served_url):
    from interior_client.api.strategy import get_indicator_by_code, list_indicators

    anonymous, _ = _clients(generated, served_url, "unused")
    page = await list_indicators.asyncio_detailed(client=anonymous, limit=500)
    assert page.status_code == 200
    (listed,) = [i for i in page.parsed.items if i.code == "1.1.1"]

    first = await get_indicator_by_code.asyncio_detailed("1.1.1", client=anonymous)
    assert (first.status_code, first.parsed.id) == (200, listed.id)
    etag = first.headers["etag"]
    again = await get_indicator_by_code.asyncio_detailed("1.1.1", client=anonymous, if_none_match=etag)
    assert (again.status_code, again.parsed, again.headers["etag"]) == (304, None, etag)  # declared: no raise


async def test_a_measurement_post_then_a_correction_with_if_match(generated, served_url, tokens):
    from interior_client.api.measurements import record_measurement
    from interior_client.api.strategy import get_indicator_by_code
    from interior_client.models import MeasurementIn, ProblemDetails

    anonymous, writer = _clients(generated, served_url, tokens["PMLP"])
    indicator = (await get_indicator_by_code.asyncio("5.1.3", client=anonymous)).id
    posted = await record_measurement.asyncio_detailed(
        indicator, client=writer, body=MeasurementIn(year=2025, value="9")
    )
    assert (posted.status_code, posted.parsed.text, posted.parsed.revision) == (201, "9", 1)
    unconditional = await record_measurement.asyncio_detailed(
        indicator, client=writer, body=MeasurementIn(year=2025, value="8")
    )
    assert unconditional.status_code == 428 and isinstance(unconditional.parsed, ProblemDetails)
    corrected = await record_measurement.asyncio_detailed(
        indicator, client=writer, body=MeasurementIn(year=2025, value="8"), if_match=posted.headers["etag"]
    )
    assert (corrected.status_code, corrected.parsed.revision, corrected.parsed.previous_text) == (201, 2, "9")
    stale = await record_measurement.asyncio_detailed(
        indicator, client=writer, body=MeasurementIn(year=2025, value="7"), if_match=posted.headers["etag"]
    )
    assert stale.status_code == 412 and "the current revision is 2" in stale.parsed.detail


async def test_an_import_as_a_multipart_file_and_as_a_csv_body(generated, served_url, tokens):
    from interior_client.api.measurements import import_measurements
    from interior_client.models import ImportMeasurementsFilesBody
    from interior_client.types import File

    _, writer = _clients(generated, served_url, tokens["PMLP"])
    excel = "indicator_code;year;institution;value;comment\r\n5.1.1;2025;;91,5 %;Pārskats par šo gadu\r\n"
    upload = File(payload=io.BytesIO(excel.encode("windows-1257")), file_name="faktiskie.csv", mime_type="text/csv")
    imported = await import_measurements.asyncio_detailed(client=writer, body=ImportMeasurementsFilesBody(file=upload))
    assert imported.status_code == 201, imported.content
    assert (imported.parsed.written, imported.parsed.encoding, imported.parsed.separator) == (1, "windows-1257", ";")
    assert imported.parsed.measurements[0].comment == "Pārskats par šo gadu"

    raw = File(payload=io.BytesIO(b"indicator_code,year,institution,value,comment\n5.2.2,2025,,+11%,\n"))
    # The generated code hands the file object to httpx as `content`, which only a sync client can stream.
    imported = await asyncio.to_thread(import_measurements.sync_detailed, client=writer, body=raw)
    assert imported.status_code == 201, imported.content
    assert (imported.parsed.measurements[0].text, imported.parsed.separator) == ("+11%", ",")
