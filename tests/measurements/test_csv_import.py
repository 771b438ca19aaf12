"""CSV files as spreadsheets write them: `;` and a decimal comma (Excel in a Latvian locale), a BOM, Windows-1257,
sent as the raw body or as a browser's / `curl -F`'s multipart upload."""

import asyncio
import codecs
import json
import shutil
import subprocess

import pytest

from service.core.errors import Problem
from service.measurements.csv_reader import read_csv
from service.measurements.imports import IMPORT_COLUMNS
from tests.helpers import bearer, indicator_id

URL = "/api/v1/measurements/import"
PROBLEM = "application/problem+json"


def test_a_latvian_excel_file_is_read_with_its_separator_and_encoding():
    excel = 'indicator_code;year;institution;value;comment\r\n1.2.3;2025;;71,1;"Pārbaudīts; šogad ē"\r\n;;;;\r\n'
    table = read_csv(excel.encode("windows-1257"), IMPORT_COLUMNS)
    assert (table.encoding, table.separator, table.malformed) == ("windows-1257", ";", [])
    assert [(row.line, row.values["value"], row.values["comment"]) for row in table.rows] == [
        (2, "71,1", "Pārbaudīts; šogad ē")
    ]


def test_a_bom_a_column_order_of_its_own_and_trailing_separators_are_accepted():
    data = codecs.BOM_UTF8 + 'Year,Indicator_Code,value,comment,institution,,\n2025,4.2.2,"3,9",ā,\n'.encode()
    table = read_csv(data, IMPORT_COLUMNS)
    assert (table.encoding, table.separator) == ("utf-8", ",")
    assert table.rows[0].values == {
        "year": "2025", "indicator_code": "4.2.2", "value": "3,9", "comment": "ā", "institution": ""
    }  # fmt: skip


def test_an_optional_column_is_taken_when_the_caller_names_it():
    data = b"indicator_code;year;institution;value;comment;expected_revision\n1.1.1;2024;;80%;;2\n"
    with pytest.raises(Problem, match="unknown: 'expected_revision'"):
        read_csv(data, IMPORT_COLUMNS)
    table = read_csv(data, IMPORT_COLUMNS, optional=["expected_revision"])
    assert table.rows[0].values["expected_revision"] == "2"


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        (b"indicator_code;year;value;comment\n", ["separator ';'", "missing: institution", IMPORT_COLUMNS[0]]),
        (b"indicator_code\tyear\tinstitution\tvalue\tcomment\n", ["neither ',' nor ';'"]),
        (b"a,b\n1,2\n", ["separator ','", "Expected: indicator_code,year,institution,value,comment"]),
    ],
)
def test_a_wrong_header_names_the_separator_found_and_the_columns_expected(data, fragments):
    with pytest.raises(Problem) as refused:
        read_csv(data, IMPORT_COLUMNS)
    assert refused.value.status == 422
    for fragment in fragments:
        assert fragment in refused.value.detail


def test_a_row_that_does_not_fit_the_header_is_named_with_its_line_and_separator():
    data = b"indicator_code;year;institution;value;comment\n1.1.1;2024;;80%;\n1.1.2;2024;81,5%\n"
    table = read_csv(data, IMPORT_COLUMNS)
    assert table.malformed == [
        (3, "line 3 has 3 column(s) separated by ';'; the header has 5: indicator_code;year;institution;value;comment")
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"indicator_code;year\n\x81\x83\x88",  # bytes Windows-1257 leaves undefined
        codecs.BOM_UTF8 + b"indicator_code;year\n\xe2",  # a BOM, then no UTF-8
        codecs.BOM_UTF16_LE + "indicator_code\tyear".encode("utf-16-le"),  # Excel's "Unicode text"
    ],
)
def test_bytes_that_are_no_text_it_reads_are_refused_with_what_to_do(data):
    with pytest.raises(Problem, match="CSV UTF-8") as refused:
        read_csv(data, IMPORT_COLUMNS)
    assert refused.value.status == 415


async def test_a_windows_1257_file_with_semicolons_imports_and_says_how_it_was_read(client, tokens):
    excel = (
        "indicator_code;year;institution;value;comment\r\n"
        '1.2.3;2025;;71,1;"Pārbaudīts; šogad ē"\r\n'
        "1.2.2;2025;;1 480;Ā Ē Ī Š Ū Ž\r\n"
    )
    response = await client.post(
        URL, content=excel.encode("windows-1257"), headers=bearer(tokens["admin"]) | {"content-type": "text/csv"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["written"], body["encoding"], body["separator"]) == (2, "windows-1257", ";")
    assert [(m["text"], m["comment"]) for m in body["measurements"]] == [
        ("71,1", "Pārbaudīts; šogad ē"),
        ("1480", "Ā Ē Ī Š Ū Ž"),
    ]
    ind = await indicator_id(client, "1.2.3")
    history = (await client.get(f"/api/v1/indicators/{ind}/measurements/2025/history")).json()
    assert history["items"][0]["comment"] == "Pārbaudīts; šogad ē"


async def test_a_multipart_upload_as_curl_f_sends_it_imports(client, tokens):
    data = codecs.BOM_UTF8 + "indicator_code;year;institution;value;comment\n2.2.3;2025;;3 900;Sākotnējais\n".encode()
    response = await client.post(
        URL, files={"file": ("faktiskie.csv", data, "text/csv")}, headers=bearer(tokens["admin"])
    )
    assert response.status_code == 201, response.text
    assert (response.json()["encoding"], response.json()["measurements"][0]["text"]) == ("utf-8", "3900")


async def test_an_upload_without_a_file_field_or_of_another_type_says_how_to_send_it(client, tokens):
    no_file = await client.post(
        URL, data={"name": "x"}, files={"other": ("a.csv", b"x")}, headers=bearer(tokens["admin"])
    )
    assert no_file.status_code == 422 and no_file.headers["content-type"] == PROBLEM
    assert "`file`" in no_file.json()["detail"]
    json_body = await client.post(URL, json={"rows": []}, headers=bearer(tokens["admin"]))
    assert json_body.status_code == 415 and "text/csv" in json_body.json()["detail"]
    two_files = await client.post(
        URL, files=[("file", ("a.csv", b"x")), ("file", ("b.csv", b"y"))], headers=bearer(tokens["admin"])
    )
    assert two_files.status_code == 400 and two_files.headers["content-type"] == PROBLEM


async def test_failing_rows_are_reported_with_how_the_file_was_read(client, tokens):
    data = "indicator_code;year;institution;value;comment\n4.2.3;2025;;lots;\n4.2.3;2025\n".encode("windows-1257")
    response = await client.post(URL, content=data, headers=bearer(tokens["admin"]) | {"content-type": "text/csv"})
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    body = response.json()
    assert (body["encoding"], body["separator"]) == ("utf-8", ";")  # plain ASCII is valid UTF-8
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(2, "value"), (3, None)]
    assert "separated by ';'" in body["errors"][1]["reason"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl on PATH (apt-get install curl)")
async def test_the_readme_curl_commands_import_a_latvian_excel_file(served_url, tokens, tmp_path):
    """`curl -F file=@…` and `curl --data-binary @…` against uvicorn, with a file as Excel saves it in Latvian."""
    sheet = tmp_path / "faktiskie.csv"
    sheet.write_bytes("indicator_code;year;institution;value;comment\r\n4.2.3;2025;;8,7;Mērķis ir sasniegts\r\n"
                      .encode("windows-1257"))  # fmt: skip
    raw = tmp_path / "labojums.csv"
    raw.write_bytes(codecs.BOM_UTF8 + b"indicator_code;year;institution;value;comment\n3.2.2;2025;;455;\n")
    answers = []
    for upload in (
        ["-F", f"file=@{sheet};type=text/csv"],
        ["-H", "Content-Type: text/csv", "--data-binary", f"@{raw}"],
    ):
        done = await asyncio.to_thread(
            subprocess.run,
            ["curl", "-sS", "-H", f"Authorization: Bearer {tokens['admin']}", *upload,
             "-w", "\n%{http_code}", f"{served_url}{URL}"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        body, status = done.stdout.rsplit("\n", 1)
        assert status == "201", body
        answers.append(json.loads(body))
    assert [(a["encoding"], a["separator"], a["measurements"][0]["text"]) for a in answers] == [
        ("windows-1257", ";", "8,7"),
        ("utf-8", ";", "455"),
    ]
    assert answers[0]["measurements"][0]["comment"] == "Mērķis ir sasniegts"
