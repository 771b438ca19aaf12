"""The Excel round-trip: an agency downloads its year as a workbook, fills it in Excel's way and uploads it to the
same import as the CSV, under the same rules (all or nothing, per-row errors, `unchanged` rows)."""

import csv
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, Reference

from service.measurements.xlsx import XLSX_MEDIA_TYPE
from tests.helpers import assert_problem, bearer
from tests.measurements.reporting_strategy import copied_strategy

KEY = "reporting-xlsx-test"


@pytest.fixture(scope="module")
async def strategy_key(sessionmaker):
    async with sessionmaker() as session, copied_strategy(session, KEY) as key:
        yield key


async def template(client, token: str, year: int, **params):
    response = await client.get(f"/api/v1/reporting/{year}/template.xlsx", params={"strategy": KEY} | params,
                                headers=bearer(token))  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    return load_workbook(io.BytesIO(response.content))


def rows_by_code(book) -> dict[str, dict]:
    sheet = book["actuals"]
    header = [c.value for c in sheet[1]]
    return {row[0].value: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)}


def saved(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(client, token: str, data: bytes, media_type: str = XLSX_MEDIA_TYPE):
    return await client.post("/api/v1/measurements/import", params={"strategy": KEY}, content=data,
                             headers=bearer(token) | {"content-type": media_type})  # fmt: skip


async def test_the_template_holds_the_agencys_year_with_only_value_and_comment_editable(client, tokens, strategy_key):
    book = await template(client, tokens["VP"], 2023)
    sheet = book["actuals"]
    assert [c.value for c in sheet[1]] == [
        "indicator_code", "name", "unit", "baseline", "target", "institution", "year", "value", "comment",
        "expected_revision", "state",
    ]  # fmt: skip
    rows = rows_by_code(book)
    assert {"1.1.1", "1.1.2", "1.1.3"} <= set(rows)
    first = rows["1.1.1"]
    assert (first["baseline"].value, first["target"].value, first["year"].value) == ("75%", "80%", 2023)
    assert first["name"].value.startswith("Iedzīvotāju, kuri jūtas droši")
    assert first["state"].value == "late"
    assert sheet.protection.sheet is True
    assert not first["value"].protection.locked and not first["comment"].protection.locked
    assert all(first[name].protection.locked for name in ("indicator_code", "year", "expected_revision", "target"))
    # A percentage is checked as one (0-100 %), a rate as a number ≥ 0.
    validations = {
        (v.type, v.operator, v.formula1, v.formula2): str(v.sqref) for v in sheet.data_validations.dataValidation
    }
    percent_cells = validations[("decimal", "between", "0", "1")]
    assert first["value"].coordinate in percent_cells.split()
    assert rows["1.1.3"]["value"].coordinate in validations[("decimal", "greaterThanOrEqual", "0", None)].split()


async def test_a_filled_workbook_posts_its_values_and_again_changes_nothing(client, tokens, strategy_key):
    book = await template(client, tokens["VP"], 2023)
    rows = rows_by_code(book)
    rows["1.1.1"]["value"].value = 0.795  # typed `79,5 %` in a percent cell
    rows["1.1.3"]["value"].value = 26.4
    rows["1.1.3"]["comment"].value = "CSP"
    first = await upload(client, tokens["VP"], saved(book))
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["created"], body["written"], body["encoding"], body["separator"]) == (2, 2, "xlsx", None)
    assert sorted(m["text"] for m in body["measurements"]) == ["26,4", "79,5%"]

    book = await template(client, tokens["VP"], 2023)
    rows = rows_by_code(book)
    assert (rows["1.1.1"]["expected_revision"].value, rows["1.1.1"]["state"].value) == (1, "submitted")
    again = await upload(client, tokens["VP"], saved(book))
    assert again.status_code == 200, again.text
    assert (again.json()["unchanged"], again.json()["written"]) == (2, 0)

    rows["1.1.3"]["value"].value = 26.1
    corrected = await upload(client, tokens["VP"], saved(book))
    assert corrected.status_code == 201, corrected.text
    assert [(m["text"], m["revision"], m["previous_text"]) for m in corrected.json()["measurements"]] == [
        ("26,1", 2, "26,4")
    ]


async def test_the_workbook_saved_from_excel_as_csv_is_the_same_import(client, tokens, strategy_key):
    """Excel's "Save as CSV (semicolon)" of the template keeps its columns for people (name, unit, baseline,
    target, state): the CSV import skips them as the workbook's does."""
    book = await template(client, tokens["VP"], 2025)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    for row in book["actuals"].iter_rows(values_only=True):
        writer.writerow(["" if value is None else value for value in row])
    rows = list(csv.DictReader(io.StringIO(out.getvalue()), delimiter=";"))
    assert {"name", "unit", "baseline", "target", "state"} <= set(rows[0])
    for row in rows:
        if row["indicator_code"] == "1.1.3":
            row["value"] = "24,5"
    edited = io.StringIO()
    writer = csv.DictWriter(edited, fieldnames=list(rows[0]), delimiter=";")
    writer.writeheader()
    writer.writerows(rows)
    sent = await upload(client, tokens["VP"], edited.getvalue().encode(), "text/csv")
    assert sent.status_code == 201, sent.text
    assert [m["text"] for m in sent.json()["measurements"]] == ["24,5"] and sent.json()["separator"] == ";"


async def test_a_workbook_follows_the_csv_rules_all_or_nothing_with_the_rows_named(client, tokens, strategy_key):
    book = await template(client, tokens["VP"], 2024)
    rows = rows_by_code(book)
    rows["1.1.1"]["value"].value = 0.82
    rows["1.1.2"]["value"].value = "a lot"
    response = await upload(client, tokens["VP"], saved(book))
    assert_problem(response, 422, "1 row(s) failed; nothing was written", "Excel workbook")
    (error,) = response.json()["errors"]
    assert (error["row"], error["field"]) == (rows["1.1.2"]["value"].row, "value")
    calendar = await client.get("/api/v1/reporting/2024", params={"strategy": KEY}, headers=bearer(tokens["VP"]))
    assert all(s["revision"] is None for s in calendar.json()["slots"])


async def test_a_broken_or_oversized_workbook_is_a_problem_not_a_500(client, tokens, strategy_key):
    assert_problem(await upload(client, tokens["VP"], b"PK\x03\x04 not really a zip"), 422, "not an Excel workbook")
    assert_problem(await upload(client, tokens["VP"], b"plain text", XLSX_MEDIA_TYPE), 422)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("xl/worksheets/sheet1.xml", b"0" * 60_000_000)
    assert_problem(await upload(client, tokens["VP"], archive.getvalue()), 422, "unpacks to more than 50 MB")
    not_a_book = io.BytesIO()
    with zipfile.ZipFile(not_a_book, "w") as other:
        other.writestr("hello.txt", "hi")
    assert_problem(await upload(client, tokens["VP"], not_a_book.getvalue()), 422, "Excel workbook")

    wrong = Workbook()
    wrong.active.append(["code", "value"])
    wrong.active.append(["1.1.1", 1])
    assert_problem(await upload(client, tokens["VP"], saved(wrong)), 422, "missing: indicator_code,year")

    charted = Workbook()  # a chart on a tab of its own named `actuals`: the worksheet beside it is read
    charted.active.append(["code", "value"])
    chart = BarChart()
    chart.add_data(Reference(charted.active, min_col=2, min_row=1, max_row=2))
    charted.create_chartsheet("actuals").add_chart(chart)
    assert_problem(await upload(client, tokens["VP"], saved(charted)), 422, "of sheet 'Sheet'", "missing")
    chartless = Workbook()
    chartless.create_chartsheet("actuals")  # openpyxl itself fails to open one without its drawing
    assert_problem(await upload(client, tokens["VP"], saved(chartless)), 422, "cannot be read as an Excel workbook")


async def test_an_agency_gets_only_its_own_template(client, tokens, strategy_key):
    other = await client.get("/api/v1/reporting/2023/template.xlsx", params={"strategy": KEY, "institution": "VRS"},
                             headers=bearer(tokens["VP"]))  # fmt: skip
    assert_problem(other, 403)
    book = await template(client, tokens["admin"], 2023, institution="VRS")
    assert all(row["institution"].value in (None, "VRS") for row in rows_by_code(book).values())


def _with_sheet(book_bytes: bytes, sheet_xml: bytes) -> bytes:
    """The workbook with its first sheet's XML replaced."""
    source, out = zipfile.ZipFile(io.BytesIO(book_bytes)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            data = sheet_xml if entry.filename == "xl/worksheets/sheet1.xml" else source.read(entry.filename)
            target.writestr(entry, data)
    return out.getvalue()


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row></sheetData></worksheet>"""


async def test_a_workbook_with_broken_or_hostile_xml_is_a_422(client, tokens, strategy_key):
    response = await client.get("/api/v1/reporting/2023/template.xlsx", params={"strategy": KEY},
                                headers=bearer(tokens["VP"]))  # fmt: skip
    broken = _with_sheet(response.content, b"<worksheet><sheetData><row>")
    assert_problem(await upload(client, tokens["VP"], broken), 422, "save it from Excel again")
    # Entities that expand a thousandfold (the "billion laughs"): refused, never expanded.
    hostile = await upload(client, tokens["VP"], _with_sheet(response.content, LAUGHS))
    assert_problem(hostile, 422, "cannot be read")
    assert "lol" not in hostile.text
