"""One reporting year end to end, as the actors walk it: the admin opens 2025 with a due date; VP downloads its
template, fills two values and uploads it; one is returned and VP corrects it with a second upload; the admin
approves both and closes the year; a late post is refused; the implementation report for 2025 shows both values
with their charts (headless Chromium renders it; a screenshot and a PDF land in the test's temp folder); after a
reopen and a correction, the report as of the closing moment still shows the closed figures."""

import datetime as dt
import io
import zipfile

import pytest
from openpyxl import load_workbook

from service.measurements.xlsx import XLSX_MEDIA_TYPE
from tests.helpers import Offline, assert_problem, bearer
from tests.measurements.reporting_strategy import copied_strategy

KEY = "reporting-cycle-e2e"
YEAR = 2025


@pytest.fixture(scope="module")
async def strategy_key(sessionmaker):
    async with sessionmaker() as session, copied_strategy(session, KEY) as key:
        yield key


class Agency:
    """VP's side: the workbook it downloads, fills in and uploads."""

    def __init__(self, client, token: str) -> None:
        self.client, self.headers = client, bearer(token)

    async def template(self):
        response = await self.client.get(f"/api/v1/reporting/{YEAR}/template.xlsx", params={"strategy": KEY},
                                         headers=self.headers)  # fmt: skip
        assert response.status_code == 200, response.text
        book = load_workbook(io.BytesIO(response.content))
        header = [c.value for c in book["actuals"][1]]
        rows = {r[0].value: dict(zip(header, r, strict=True)) for r in book["actuals"].iter_rows(min_row=2)}
        return book, rows

    async def upload(self, book) -> dict:
        out = io.BytesIO()
        book.save(out)
        response = await self.client.post("/api/v1/measurements/import", params={"strategy": KEY},
                                          content=out.getvalue(),
                                          headers=self.headers | {"content-type": XLSX_MEDIA_TYPE})  # fmt: skip
        assert response.status_code == 201, response.text
        return response.json()


async def report_page(browser, base_url: str, path: str, params: str):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    watched = Offline(page, base_url)
    await context.route("**/*", watched.route)
    response = await page.goto(f"{base_url}{path}?{params}")
    assert response.status == 200
    return context, page, watched


# Per chart: how many actual points it says it has, how many it drew, and whether each has a size and lies inside.
CHARTS = """charts => charts.map(svg => {
  const box = svg.getBoundingClientRect();
  const points = [...svg.querySelectorAll('circle.actual')].map(c => c.getBoundingClientRect());
  return {code: svg.closest('tr').dataset.code, said: Number(svg.dataset.actuals), drawn: points.length,
          inside: points.every(p => p.width > 0 && p.height > 0 && p.left >= box.left && p.right <= box.right
                                    && p.top >= box.top && p.bottom <= box.bottom),
          years: [...svg.querySelectorAll('circle.actual')].map(c => Number(c.dataset.year))};
})"""


async def row_text(page, code: str) -> list[str]:
    return await page.eval_on_selector_all(
        f'tr.indicator[data-code="{code}"] td', "cells => cells.map(c => c.innerText.trim())"
    )


async def test_a_reporting_year_end_to_end(client, tokens, strategy_key, served_url, browser, tmp_path):
    admin = bearer(tokens["admin"])
    params = {"strategy": KEY}
    vp = Agency(client, tokens["VP"])
    listed = await client.get("/api/v1/indicators", params={"strategy": KEY, "limit": 500})
    ids = {i["code"]: i["id"] for i in listed.json()["items"]}

    # The admin opens 2025 with a due date.
    due = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
    opened = await client.put(f"/api/v1/reporting/{YEAR}/dates", params=params, headers=admin,
                              json={"opens_on": "2026-01-01", "due_on": str(due)})  # fmt: skip
    assert opened.status_code == 200, opened.text
    calendar = (await client.get(f"/api/v1/reporting/{YEAR}", params=params, headers=vp.headers)).json()
    assert calendar["period"]["due_on"] == str(due) and calendar["counts"]["due"] == calendar["counts"]["total"] > 2

    # VP downloads its template, fills two values, uploads.
    book, rows = await vp.template()
    rows["1.1.1"]["value"].value = 0.87  # 87 % typed into the percent cell
    rows["1.1.3"]["value"].value = 22.5
    rows["1.1.3"]["comment"].value = "CSDD dati"
    first = await vp.upload(book)
    assert (first["created"], first["written"]) == (2, 2)

    # One is returned; VP corrects it with a second upload of a fresh template.
    returned = await client.post(f"/api/v1/indicators/{ids['1.1.3']}/measurements/{YEAR}/return", headers=admin,
                                 json={"comment": "the 2025 figure excludes December"})  # fmt: skip
    assert returned.status_code == 200, returned.text
    book, rows = await vp.template()
    assert (rows["1.1.3"]["state"].value, rows["1.1.3"]["expected_revision"].value) == ("returned", 1)
    rows["1.1.3"]["value"].value = 22.1
    second = await vp.upload(book)
    assert (second["corrected"], second["unchanged"], second["written"]) == (1, 1, 1)

    # The admin approves both and closes the year.
    for code in ("1.1.1", "1.1.3"):
        approved = await client.post(f"/api/v1/indicators/{ids[code]}/measurements/{YEAR}/approve", headers=admin)
        assert approved.status_code == 200, approved.text
    calendar = (await client.get(f"/api/v1/reporting/{YEAR}", params=params, headers=vp.headers)).json()
    assert calendar["counts"]["approved"] == 2
    closed = await client.post(f"/api/v1/reporting/{YEAR}/close", params=params, headers=admin)
    assert closed.status_code == 200, closed.text
    closed_at = closed.json()["closed_at"]

    # A late post is refused.
    late = await client.post(f"/api/v1/indicators/{ids['1.1.2']}/measurements", json={"year": YEAR, "value": "85%"},
                             headers=vp.headers)  # fmt: skip
    assert_problem(late, 409, f"Reporting year {YEAR} is closed", "admin:-")

    # The report for 2025 shows both values with charts, as a person sees it in Chromium.
    path = f"/api/v1/reports/implementation/{YEAR}"
    context, page, watched = await report_page(browser, served_url, path, f"strategy={KEY}")
    try:
        text = await page.inner_text("body")
        assert "Īstenošanas pārskats par 2025. gadu" in text and "Sabiedriskā kārtība un drošība" in text
        first_row, third_row = await row_text(page, "1.1.1"), await row_text(page, "1.1.3")
        assert first_row[2:6] == ["75%", "86%", "87%", "Sasniegts"]
        assert third_row[2:6] == ["29,72", "23", "22,1", "Sasniegts"]
        charts = await page.eval_on_selector_all("svg.chart", CHARTS)
        assert len(charts) >= 40
        assert all(c["drawn"] == c["said"] and c["inside"] for c in charts), [c for c in charts if not c["inside"]]
        by_code = {c["code"]: c for c in charts}
        assert by_code["1.1.1"]["years"] == [YEAR] and by_code["1.1.3"]["years"] == [YEAR]
        area_counts = await page.inner_text("#area-1 table.counts")
        assert "Sasniegts" in area_counts
        assert await page.inner_text('#area-1 td[data-status="achieved"]') == "2"
        screenshot = tmp_path / f"implementation-report-{YEAR}.png"
        await page.screenshot(path=str(screenshot), full_page=True)
        await page.pdf(path=str(tmp_path / f"implementation-report-{YEAR}.pdf"), format="A4")
        await page.locator("#area-1").screenshot(path=str(tmp_path / f"implementation-report-{YEAR}-area-1.png"))
        print(f"\nimplementation report screenshot: {screenshot}")
        assert watched.elsewhere == [] and watched.refused_own == []
    finally:
        await context.close()
    assert screenshot.stat().st_size > 10_000

    english = await client.get(path, params={"strategy": KEY, "lang": "en"})
    assert "Implementation report 2025" in english.text and "Achieved" in english.text
    workbook = await client.get(f"/api/v1/reports/implementation/{YEAR}.xlsx", params={"strategy": KEY})
    assert workbook.headers["content-type"] == XLSX_MEDIA_TYPE
    sheet = load_workbook(io.BytesIO(workbook.content)).worksheets[0]
    assert [c.value for c in next(r for r in sheet.iter_rows(min_row=3) if r[2].value == "1.1.3")][5:] == [
        "29,72", "23", "22,1", "Sasniegts",
    ]  # fmt: skip
    series = load_workbook(io.BytesIO(workbook.content))["dinamika"]
    title_row = next(r[0].row for r in series.iter_rows() if str(r[0].value or "").startswith("1.1.3 "))
    years, targets, actuals = ([c.value for c in series[title_row + i]] for i in (1, 2, 3))
    assert years[-5:] == [2023, 2024, 2025, 2026, 2027] and actuals[years.index(YEAR)] == 22.1
    assert targets[0] == "Mērķa vērtība" and targets[years.index(YEAR)] == 23
    blocks = sum(1 for r in series.iter_rows() if r[0].font.b)  # one bold title per charted indicator
    charts = [n for n in zipfile.ZipFile(io.BytesIO(workbook.content)).namelist() if n.startswith("xl/charts/chart")]
    assert blocks > 10 and len(charts) == blocks  # each drawn by the spreadsheet from its rows

    # After a reopen and a correction, the report as of the closing moment still shows the closed figures.
    reopened = await client.post(f"/api/v1/reporting/{YEAR}/reopen", params=params, headers=admin,
                                 json={"reason": "CSDD revised the December count"})  # fmt: skip
    assert reopened.status_code == 200, reopened.text
    history = await client.get(f"/api/v1/indicators/{ids['1.1.3']}/measurements/{YEAR}/history")
    corrected = await client.post(f"/api/v1/indicators/{ids['1.1.3']}/measurements", json={"year": YEAR, "value": 21.9},
                                  headers=vp.headers | {"If-Match": history.headers["etag"]})  # fmt: skip
    assert corrected.status_code == 201, corrected.text
    approved = await client.post(f"/api/v1/indicators/{ids['1.1.3']}/measurements/{YEAR}/approve", headers=admin)
    assert approved.status_code == 200, approved.text

    now = await client.get(path, params={"strategy": KEY})
    assert "21,9" in now.text
    context, page, _ = await report_page(
        browser, served_url, path, f"strategy={KEY}&as_of={closed_at.replace('+', '%2B')}"
    )
    try:
        assert (await row_text(page, "1.1.3"))[4] == "22,1"
        assert (await row_text(page, "1.1.1"))[4] == "87%"
        assert closed_at[:16].replace("T", " ") in await page.inner_text("p.meta")
    finally:
        await context.close()
