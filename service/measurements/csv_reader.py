"""Reading a CSV as spreadsheets write it: `,` or `;` (Excel in a Latvian locale), with or without a BOM,
UTF-8 or Windows-1257. Bytes in, header and rows out; what the rows mean is the import's business."""

import codecs
import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from service.core.errors import Problem, quoted

SEPARATORS = (",", ";")
MAX_ROWS = 10_000


@dataclass(frozen=True)
class CsvRow:
    line: int  # the physical line the row ends on, the header being line 1
    values: dict[str, str]  # by column, without surrounding spaces


@dataclass(frozen=True)
class CsvTable:
    encoding: str  # "utf-8" or "windows-1257"; "xlsx" for a workbook's sheet (xlsx.py)
    separator: str | None  # None for a workbook's sheet
    columns: list[str]
    rows: list[CsvRow]
    malformed: list[tuple[int, str]]  # (line, reason) of rows that do not fit the header


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8"
        except UnicodeDecodeError as error:
            raise Problem(
                415, f"The file starts as UTF-8 but byte {error.start + 3} is not UTF-8; save it again as 'CSV UTF-8'."
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise Problem(
            415, "The file is UTF-16 (Excel's 'Unicode text'); save it as 'CSV UTF-8' or 'CSV (semicolon delimited)'."
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Excel's "CSV" in a Latvian (Baltic) locale. Valid UTF-8 with letters like ā is all but never also meant as
    # Windows-1257, so UTF-8 is tried first.
    try:
        return data.decode("windows-1257"), "windows-1257"
    except UnicodeDecodeError:
        raise Problem(
            415, "The file is neither UTF-8 nor Windows-1257; save it from the spreadsheet as 'CSV UTF-8'."
        ) from None


def _separator(header_line: str, known: Sequence[str]) -> str:
    """The separator that splits the header into the most known columns; on a tie, the one it holds most of."""

    def fit(separator: str) -> tuple[int, int]:
        names = [name.strip().lower() for name in header_line.split(separator)]
        return sum(name in known for name in names), header_line.count(separator)

    return max(SEPARATORS, key=fit)


def _listed(names: Sequence[str]) -> str:
    """Column names from the file, each quoted within bounds, the first ten of them."""
    shown = ",".join(quoted(name) for name in names[:10])
    return shown + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def _expected(columns: Sequence[str], optional: Sequence[str], separator: str) -> str:
    text = separator.join(columns)
    return text + (f" (optionally also {separator.join(optional)})" if optional else "")


def header_faults(names: Sequence[str], required: Sequence[str], known: Iterable[str]) -> str:
    """What is wrong with a header (required columns missing, unknown or repeated ones), "" when nothing."""
    known = set(known)
    missing = [c for c in required if c not in names]
    unknown = [n for n in names if n not in known]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    return "; ".join(
        part
        for part in (
            f"missing: {','.join(missing)}" if missing else "",
            f"unknown: {_listed(unknown)}" if unknown else "",
            f"repeated: {_listed(duplicated)}" if duplicated else "",
        )
        if part
    )


def read_csv(
    data: bytes, columns: Sequence[str], optional: Sequence[str] = (), skipped: Sequence[str] = ()
) -> CsvTable:
    """The table in `data`, whose header must name every one of `columns` (any order, any case) and may name
    `optional` ones and `skipped` ones (a template's columns for people, left out of the rows); 415 for an
    encoding it is not, 422 naming the separator and columns for a wrong header."""
    text, encoding = _decode(data)
    known = [*columns, *optional]
    header_line = text.split("\n", 1)[0].rstrip("\r")
    separator = _separator(header_line, known)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        header = next(reader, [])
    except csv.Error as error:
        raise Problem(422, f"The CSV header cannot be read ({error}).") from None
    names = [name.strip().lower() for name in header]
    while names and not names[-1]:  # spreadsheets add separators for columns once touched
        names.pop()
    if faults := header_faults(names, columns, [*known, *skipped]):
        found = f"separator {separator!r}" if separator in header_line else "neither ',' nor ';'"
        raise Problem(
            422,
            f"Line 1, the header, read with {found}, has the columns {_listed(names)} ({faults}). "
            f"Expected: {_expected(columns, optional, separator)}; either ',' or ';' separates them.",
            separator=separator,
            encoding=encoding,
        )
    rows: list[CsvRow] = []
    malformed: list[tuple[int, str]] = []
    try:
        for cells in reader:
            line = reader.line_num
            while len(cells) > len(names) and not cells[-1].strip():
                cells.pop()
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, or one of only separators
            if len(rows) + len(malformed) >= MAX_ROWS:
                raise Problem(422, f"The file has more than {MAX_ROWS} rows; split it.")
            if len(cells) != len(names):
                malformed.append(
                    (
                        line,
                        f"line {line} has {len(cells)} column(s) separated by {separator!r}; the header has "
                        f"{len(names)}: {separator.join(names)}",
                    )
                )
                continue
            values = {name: cell.strip() for name, cell in zip(names, cells, strict=True) if name in known}
            rows.append(CsvRow(line, values))
    except csv.Error as error:
        raise Problem(422, f"Line {reader.line_num} cannot be read as CSV ({error}).") from None
    return CsvTable(encoding, separator, names, rows, malformed)
