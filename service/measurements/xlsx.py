"""The Excel round-trip of a reporting year: the template an agency fills in, and reading a filled workbook into
the same rows the CSV import checks (csv_reader.CsvTable), so one set of rules decides both. openpyxl writes and
reads the workbook; nothing here writes XML by hand."""

import io
import zipfile
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from service.core.errors import Problem
from service.measurements.csv_reader import MAX_ROWS, CsvRow, CsvTable, _expected, _listed, header_faults
from service.measurements.schemas import COMMENT_MAX, VALUE_TEXT_MAX
from service.strategy.models import ValueKind

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET = "actuals"
# What the template shows beside the columns the import reads; the import skips them.
SHOWN_COLUMNS = ("name", "unit", "baseline", "target", "state")
TEMPLATE_COLUMNS = (
    "indicator_code", "name", "unit", "baseline", "target", "institution", "year", "value", "comment",
    "expected_revision", "state",
)  # fmt: skip
EDITABLE = ("value", "comment")
MAX_COLUMNS = 50
# A 5 MB upload may inflate a thousandfold; a workbook of MAX_ROWS rows stays far below this.
MAX_UNZIPPED_BYTES = 50_000_000
PERCENT_FORMAT = "0.0##%"


def is_xlsx(data: bytes) -> bool:
    return data.startswith(b"PK\x03\x04")


def template(rows: Sequence[dict], kinds: Sequence[ValueKind], title: str, notes: Sequence[str]) -> bytes:
    """The workbook: one row per slot, every cell locked but `value` and `comment` (sheet protection without a
    password: it keeps a slip from breaking the file, it is no security); `value` validated by the indicator's
    form (a percentage 0-100 %, a count or measure ≥ 0, else a text of at most the value's length), `comment` by
    length. A percentage is written as Excel's percent (0,815 shown as 81,5 %), as a person there types it."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(list(TEMPLATE_COLUMNS))
    header_fill = PatternFill("solid", fgColor="DDDDDD")
    editable_fill = PatternFill("solid", fgColor="FFF8DC")
    for cell in sheet[1]:
        cell.font, cell.fill = Font(bold=True), header_fill
    percent = DataValidation(type="decimal", operator="between", formula1="0", formula2="1", allow_blank=True,
                             error="A percentage between 0 % and 100 %.", showErrorMessage=True)  # fmt: skip
    counted = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                             error="A number of 0 or more.", showErrorMessage=True)  # fmt: skip
    worded = DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(VALUE_TEXT_MAX),
                            allow_blank=True, error=f"At most {VALUE_TEXT_MAX} characters, as the strategy writes "
                            "the value (29/2195, +10%, Palielinās).", showErrorMessage=True)  # fmt: skip
    comment = DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(COMMENT_MAX),
                             allow_blank=True, error=f"At most {COMMENT_MAX} characters.",
                             showErrorMessage=True)  # fmt: skip
    for validation in (percent, counted, worded, comment):
        sheet.add_data_validation(validation)
    value_column = TEMPLATE_COLUMNS.index("value") + 1
    comment_column = TEMPLATE_COLUMNS.index("comment") + 1
    for number, (row, kind) in enumerate(zip(rows, kinds, strict=True), start=2):
        sheet.append([row.get(name) for name in TEMPLATE_COLUMNS])
        for name in EDITABLE:
            cell = sheet.cell(number, TEMPLATE_COLUMNS.index(name) + 1)
            cell.protection, cell.fill = Protection(locked=False), editable_fill
        value = sheet.cell(number, value_column)
        if kind == ValueKind.percent:
            value.number_format = PERCENT_FORMAT
            if isinstance(value.value, Decimal):
                value.value = value.value / 100
            percent.add(value)
        elif kind == ValueKind.number:
            counted.add(value)
        else:
            worded.add(value)
        comment.add(sheet.cell(number, comment_column))
    for index, name in enumerate(TEMPLATE_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = {"name": 60, "comment": 40}.get(name, 14)
    sheet.freeze_panes = "B2"
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False  # widening a column is no harm
    about = book.create_sheet("about")
    for line in (title, *notes):
        about.append([line])
    about.protection.sheet = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell_text(value: object, number_format: str) -> str:
    """A cell as the CSV import would have read it: text as typed, a number in its shortest decimal form, a
    percent-formatted number (0,815 shown as 81,5 %) as the percentage."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:
            return str(value)
        if "%" in number_format.replace('"%"', ""):
            number *= 100
        text = format(number.normalize(), "f")
        return f"{text}%" if "%" in number_format.replace('"%"', "") else text
    return str(value).strip()


def _checked_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unzipped = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise Problem(
            422, "The file is not an Excel workbook (.xlsx); save it from Excel as 'Excel Workbook'."
        ) from None
    if unzipped > MAX_UNZIPPED_BYTES:
        raise Problem(422, f"The workbook unpacks to more than {MAX_UNZIPPED_BYTES // 1_000_000} MB; split it.")


def read_xlsx(
    data: bytes, columns: Sequence[str], optional: Sequence[str] = (), skipped: Sequence[str] = ()
) -> CsvTable:
    """The sheet `actuals` (else the first) as the rows a CSV of the same columns gives; `skipped` columns (the
    template's informational ones) are left out. 422 for a file that is no workbook, a wrong header or too many rows."""
    _checked_zip(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    # AttributeError: openpyxl's own, on parts it does not expect (a chartsheet without a drawing).
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError, OSError,
            SyntaxError):  # fmt: skip
        raise Problem(422, "The file cannot be read as an Excel workbook (.xlsx); save it from Excel again.") from None
    try:
        # Worksheets only: a chartsheet (a chart on a tab of its own) has no cells, whatever its name.
        sheets = {sheet.title: sheet for sheet in book.worksheets}
        sheet = sheets.get(SHEET) or next(iter(sheets.values()))
        cells = sheet.iter_rows(max_col=MAX_COLUMNS)
        header = next(cells, ())
        names = [str(cell.value).strip().lower() if cell.value is not None else "" for cell in header]
        while names and not names[-1]:
            names.pop()
        known = [*columns, *optional]
        if faults := header_faults(names, columns, [*known, *skipped]):
            raise Problem(
                422,
                f"Row 1 of sheet {sheet.title!r}, the header, has the columns {_listed(names)} ({faults}). "
                f"Expected: {_expected(columns, optional, ',')}; download the template again.",
            )
        wanted = [(index, name) for index, name in enumerate(names) if name in known]
        rows: list[CsvRow] = []
        for number, row in enumerate(cells, start=2):
            values = {
                name: _cell_text(row[index].value, getattr(row[index], "number_format", "General") or "General")
                if index < len(row)
                else ""
                for index, name in wanted
            }
            if not any(values.values()):
                continue
            if len(rows) >= MAX_ROWS:
                raise Problem(422, f"The sheet has more than {MAX_ROWS} rows; split it.")
            rows.append(CsvRow(number, values))
    except Problem:
        raise
    # SyntaxError: ElementTree's ParseError of broken XML; ValueError: defusedxml's refusal of entities too.
    except (KeyError, ValueError, TypeError, IndexError, StopIteration, zipfile.BadZipFile, OSError, SyntaxError):
        raise Problem(422, "The workbook's sheet cannot be read; save it from Excel again.") from None
    finally:
        book.close()
    return CsvTable("xlsx", None, [name for _, name in wanted], rows, [])
