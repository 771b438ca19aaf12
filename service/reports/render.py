"""The implementation report as a printable HTML page (Jinja2, escaped by default; inline SVG charts; Latvian or
English) and as an .xlsx workbook (openpyxl)."""

import io
from dataclasses import dataclass, replace
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from service.measurements.progress import ProgressStatus
from service.reports.charts import Chart, chart
from service.reports.implementation import IndicatorLine, Report

LANGUAGES = ("lv", "en")
STATUSES = [s.value for s in ProgressStatus]

LABELS = {
    "lv": {
        "report": "Īstenošanas pārskats par {year}. gadu", "as_of": "Dati uz", "totals": "Kopā",
        "counts": "Rādītāji pēc statusa",
        "as_of_note": "Pārskats rāda vērtības un apstiprinājumus, kādi tie bija šajā brīdī.",
        "goal": "Mērķis", "code": "Nr.", "indicator": "Rādītājs", "baseline": "Bāzes vērtība",
        "target": "Mērķa vērtība", "actual": "Faktiskā vērtība", "status": "Statuss", "series": "Dinamika",
        "area": "Joma", "institution": "Iestāde",
        "legend": "Dinamika: pārtraukta līnija – mērķa vērtības, sarkanie punkti – apstiprinātās faktiskās vērtības, "
        "pelēks punkts – bāzes vērtība.",
        "statuses": {"achieved": "Sasniegts", "on_track": "Virzās uz mērķi", "off_track": "Atpaliek",
                     "no_data": "Nav datu", "not_applicable": "Nav mērķa"},
    },
    "en": {
        "report": "Implementation report {year}", "as_of": "Data as of", "totals": "Total",
        "counts": "Indicators by status",
        "as_of_note": "The report shows values and approvals as they stood at that moment.",
        "goal": "Goal", "code": "No.", "indicator": "Indicator", "baseline": "Baseline", "target": "Target",
        "actual": "Actual", "status": "Status", "series": "Trend", "area": "Area", "institution": "Institution",
        "legend": "Trend: dashed line – targets, red points – approved actuals, grey point – baseline.",
        "statuses": {"achieved": "Achieved", "on_track": "On track", "off_track": "Off track",
                     "no_data": "No data", "not_applicable": "No target"},
    },
}  # fmt: skip

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class ChartedLine(IndicatorLine):
    chart: Chart | None = None


def _texts(lang: str):
    return lambda localized: localized.get(lang) or localized.get("lv") or next(iter(localized.values()), "")


def _moment(report: Report) -> str:
    return f"{(report.as_of or report.made_at):%Y-%m-%d %H:%M} UTC"


def html(report: Report, lang: str) -> str:
    charted = replace(
        report,
        areas=[
            replace(area, goals=[
                replace(goal, lines=[
                    ChartedLine(**vars(line), chart=chart(line.series) if line.series and (
                        line.series.targets or line.series.actuals) else None)
                    for line in goal.lines
                ])
                for goal in area.goals
            ])
            for area in report.areas
        ],
    )  # fmt: skip
    return _templates.get_template("implementation.html.j2").render(
        report=charted, lang=lang, t=LABELS[lang], text=_texts(lang), statuses=STATUSES, moment=_moment(report)
    )


CHART_ROWS = 8  # sheet rows one indicator's block (its numbers, then room for its chart) takes


def _series_sheet(sheet: Worksheet, report: Report, lang: str) -> None:
    """Per charted indicator, its targets and official actuals by year of the strategy period and a line chart of
    them (the HTML page's small chart, as a spreadsheet draws it)."""
    t, text = LABELS[lang], _texts(lang)
    row = 1
    for area in report.areas:
        for goal in area.goals:
            for line in goal.lines:
                series = line.series
                if series is None or not (series.targets or series.actuals):
                    continue
                targets = {point.year: point.value for point in series.targets}
                actuals = {point.year: point.value for point in series.actuals}
                label = f"{line.code} {line.institution or ''}".strip()
                sheet.cell(row, 1, f"{label} {text(line.name)}").font = Font(bold=True)
                rows = ([None, *series.years], [t["target"], *(targets.get(year) for year in series.years)],
                        [t["actual"], *(actuals.get(year) for year in series.years)])  # fmt: skip
                for offset, values in enumerate(rows, start=1):
                    for column, value in enumerate(values, start=1):
                        sheet.cell(row + offset, column, value)
                last = len(series.years) + 1
                plot = LineChart()
                plot.title, plot.height, plot.width, plot.legend.position = label, 4.5, 9, "b"
                data = Reference(sheet, min_col=1, max_col=last, min_row=row + 2, max_row=row + 3)
                plot.add_data(data, from_rows=True, titles_from_data=True)
                plot.set_categories(Reference(sheet, min_col=2, max_col=last, min_row=row + 1))
                sheet.add_chart(plot, f"{chr(ord('A') + last + 1)}{row}")
                row += CHART_ROWS


def workbook(report: Report, lang: str) -> bytes:
    """The same report as a workbook: a sheet of every indicator line, one of the counts per area, and one of each
    charted indicator's series with its chart."""
    t, text = LABELS[lang], _texts(lang)
    book = Workbook()
    lines = book.active
    lines.title = "report" if lang == "en" else "parskats"
    title = t["report"].format(year=report.year)
    lines.append([f"{text(report.strategy.title)}: {title}. {t['as_of']} {_moment(report)}."])
    header = [t["area"], t["goal"], t["code"], t["indicator"], t["institution"], t["baseline"],
              f"{t['target']} {report.year}", f"{t['actual']} {report.year}", t["status"]]  # fmt: skip
    lines.append(header)
    for cell in lines[2]:
        cell.font = Font(bold=True)
    for area in report.areas:
        for goal in area.goals:
            for line in goal.lines:
                lines.append([area.code, f"{area.code}.{goal.number}", line.code, text(line.name), line.institution,
                              line.baseline, line.target, line.actual, t["statuses"][line.status.value]])  # fmt: skip
    lines.column_dimensions["D"].width = 70
    counts = book.create_sheet("counts" if lang == "en" else "statusi")
    counts.append([t["area"], *(t["statuses"][s] for s in STATUSES)])
    for cell in counts[1]:
        cell.font = Font(bold=True)
    for area in report.areas:
        counts.append([f"{area.code}. {text(area.title)}", *(area.counts[s] for s in STATUSES)])
    counts.append([t["totals"], *(report.counts[s] for s in STATUSES)])
    _series_sheet(book.create_sheet("series" if lang == "en" else "dinamika"), report, lang)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
