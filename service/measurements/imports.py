"""Many measurements at once, from a CSV file or an Excel workbook (their readers: csv_reader.py, xlsx.py): the
single post's rules for every row, all or nothing; and the agency's template to fill."""

import asyncio
import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.auth import Forbidden, Principal
from service.core.db import retrying_conflicts
from service.core.errors import Problem, quoted
from service.measurements import periods, repository
from service.measurements.csv_reader import CsvTable
from service.measurements.models import Measurement
from service.measurements.revisions import (
    Posting,
    append_revision,
    ensure_period_open,
    measurement_out,
    prepare_in_any_period,
)
from service.measurements.schemas import (
    ImportOutcome,
    ImportResult,
    ImportRowError,
    ImportRowResult,
    MeasurementIn,
)
from service.measurements.values import (
    IndicatorContext,
    Invalid,
    authorize,
    indicator_context,
)
from service.registry import repository as registry
from service.registry.models import Institution
from service.strategy import repository as strategy
from service.strategy.models import Indicator
from service.strategy.service import resolve_strategy_id

IMPORT_COLUMNS = ("indicator_code", "year", "institution", "value", "comment")
OPTIONAL_IMPORT_COLUMNS = ("expected_revision",)


@dataclass(frozen=True)
class ImportLine:
    line: int
    posting: Posting
    expected_revision: int | None
    closed: periods.PeriodClosed | None  # the year is closed: the row may only leave its value unchanged


def _same_value(posting: Posting, current: Measurement) -> bool:
    return (
        posting.parsed.kind.value == current.kind
        and posting.parsed.number == current.number
        and posting.parsed.second == current.second
        and (posting.comment or None) == (current.comment or None)
    )


def _import_outcome(line: ImportLine, current: Measurement | None) -> ImportOutcome:
    """The same rule as a single post: a year with a value is corrected only by naming the revision corrected."""
    year, expected = line.posting.year, line.expected_revision
    if current is None:
        if expected is not None:
            raise Invalid("expected_revision", f"year {year} has no value yet; leave expected_revision empty")
        return ImportOutcome.created
    if _same_value(line.posting, current):
        return ImportOutcome.unchanged
    if expected is None:
        raise Invalid(
            "expected_revision",
            f"year {year} already has revision {current.revision} ({current.text}); add expected_revision "
            f"{current.revision} to correct it",
        )
    if expected != current.revision:
        raise Invalid(
            "expected_revision",
            f"year {year} is at revision {current.revision} ({current.text}), not {expected}: it changed since "
            "the file was made; download the template again",
        )
    return ImportOutcome.corrected


def _problem_row(line: int, problem: Problem) -> ImportRowError:
    field = (problem.extra.get("errors") or [{}])[0].get("field")
    return ImportRowError(row=line, field=field, reason=problem.detail)


async def _import_line(
    session: AsyncSession,
    principal: Principal,
    line: int,
    cells: dict[str, str],
    by_code: dict[str, list[Indicator]],
    contexts: dict[uuid.UUID, IndicatorContext],
) -> ImportLine:
    """A row validated and authorized exactly as a single post of it would be."""
    code = cells["indicator_code"]
    candidates = by_code.get(code, [])
    if len(candidates) != 1:
        reason = f"no indicator with code {code!r}" if not candidates else f"{code!r} is in several strategies"
        raise Invalid("indicator_code", reason + ("" if not candidates else "; pass ?strategy="))
    try:
        year = int(cells["year"])
    except ValueError:
        raise Invalid("year", f"{quoted(cells['year'])} is not a year") from None
    expected_text = cells.get("expected_revision", "")
    if expected_text and not (expected_text.isdigit() and int(expected_text) >= 1):
        raise Invalid("expected_revision", f"{quoted(expected_text)} is not a revision number")
    indicator = candidates[0]
    if indicator.id not in contexts:
        contexts[indicator.id] = await indicator_context(session, indicator.id)
    fields = {"year": year, "value": cells["value"], "institution": cells["institution"] or None,
              "comment": cells["comment"] or None}  # fmt: skip
    try:
        payload = MeasurementIn.model_validate(fields)
    except ValidationError as error:
        first = error.errors()[0]
        raise Invalid(str(first["loc"][0]) if first["loc"] else "row", first["msg"]) from None
    posting = await prepare_in_any_period(session, principal, contexts[indicator.id], payload)
    try:
        await ensure_period_open(session, principal, posting)
        closed = None
    except periods.PeriodClosed as refusal:
        closed = refusal
    return ImportLine(line, posting, int(expected_text) if expected_text else None, closed)


IMPORT_ROWS_PER_TURN = 200


async def import_rows(
    session: AsyncSession, principal: Principal, table: CsvTable, strategy_key: str | None
) -> tuple[ImportResult | None, list[ImportRowError]]:
    """Check every row first; write all of them in one transaction, or none if any row fails."""
    strategy_id = await resolve_strategy_id(session, strategy_key) if strategy_key else None
    by_code: dict[str, list[Indicator]] = {}
    for indicator in await strategy.list_indicators(session, strategy.IndicatorQuery(strategy_id=strategy_id)):
        by_code.setdefault(indicator.code, []).append(indicator)
    contexts: dict[uuid.UUID, IndicatorContext] = {}
    lines: list[ImportLine] = []
    errors = [ImportRowError(row=line, field=None, reason=reason) for line, reason in table.malformed]
    empty: list[int] = []
    seen: dict[repository.Slot, int] = {}
    for index, (line, cells) in enumerate((row.line, row.values) for row in table.rows):
        if index % IMPORT_ROWS_PER_TURN == 0:
            await asyncio.sleep(0)  # checking thousands of rows must not hold the event loop: other requests go on
        if not cells["value"]:
            empty.append(line)  # a template's year left blank: nothing to post
            continue
        try:
            checked = await _import_line(session, principal, line, cells, by_code, contexts)
        except Problem as problem:
            errors.append(_problem_row(line, problem))
            continue
        slot = _slot_of(checked.posting)
        if slot in seen:
            reason = f"the same indicator, year and institution as row {seen[slot]}"
            errors.append(ImportRowError(row=line, field=None, reason=reason))
            continue
        seen[slot] = line
        lines.append(checked)
    if not lines and not empty and not errors:
        errors.append(ImportRowError(row=1, field=None, reason="the file has no data rows"))

    async def write() -> tuple[ImportResult | None, list[ImportRowError]]:
        await repository.lock_slots(session, seen)
        current = await repository.current_by_slot(session, list(contexts))
        outcomes: list[tuple[ImportLine, ImportOutcome]] = []
        failed = list(errors)
        for checked in lines:
            try:
                outcome = _import_outcome(checked, current.get(_slot_of(checked.posting)))
            except Problem as problem:
                failed.append(_problem_row(checked.line, problem))
                continue
            if checked.closed is not None and outcome != ImportOutcome.unchanged:
                raise checked.closed  # the whole file is refused: it would change a closed year
            outcomes.append((checked, outcome))
        if failed:
            return None, sorted(failed, key=lambda e: e.row)
        results, written = [], []
        for checked, outcome in outcomes:
            previous = current.get(_slot_of(checked.posting))
            row = previous
            if outcome != ImportOutcome.unchanged:
                row = await append_revision(session, principal, checked.posting, previous)
                institution = checked.posting.institution
                institutions = {institution.id: institution} if institution else {}
                written.append(measurement_out(row, institutions, previous.text if previous else None))
            results.append(ImportRowResult(row=checked.line, outcome=outcome, revision=row.revision))
        results += [ImportRowResult(row=number, outcome=ImportOutcome.empty, revision=None) for number in empty]
        counts = Counter(r.outcome for r in results)
        return ImportResult(
            created=counts[ImportOutcome.created], corrected=counts[ImportOutcome.corrected],
            unchanged=counts[ImportOutcome.unchanged], empty=counts[ImportOutcome.empty],
            written=len(written), rows=sorted(results, key=lambda r: r.row), measurements=written,
            encoding=table.encoding, separator=table.separator,
        ), []  # fmt: skip

    return await retrying_conflicts(session, write)


def _slot_of(posting: Posting) -> repository.Slot:
    return (posting.ctx.indicator.id, posting.year, posting.institution_id)


def _may_post(principal: Principal, ctx: IndicatorContext, institution: Institution | None) -> bool:
    try:
        authorize(principal, ctx, institution)
    except Forbidden:
        return False
    return True


async def import_template(
    session: AsyncSession, principal: Principal, strategy_key: str | None
) -> list[dict[str, str]]:
    """A row for every year (and institution) the principal may post, pre-filled with the current revision
    and its number as expected_revision: uploaded again it changes nothing, and an edited value corrects
    exactly the revision the row names."""
    strategy_id = await resolve_strategy_id(session, strategy_key) if strategy_key else None
    query = strategy.IndicatorQuery(
        strategy_id=strategy_id, institution_id=None if principal.is_admin else principal.institution_id
    )
    indicators = await strategy.list_indicators(session, query)
    ids = [i.id for i in indicators]
    values = await strategy.values_by_indicator(session, ids)
    links = await strategy.goal_institutions_by_goal(session, list({i.goal_id for i in indicators}))
    strategies = await strategy.strategies_by_ids(session, list({i.strategy_id for i in indicators}))
    institutions = await registry.institutions_by_ids(
        session, [v.institution_id for vs in values.values() for v in vs if v.institution_id]
    )
    current = await repository.current_by_slot(session, ids)
    this_year = dt.datetime.now(dt.UTC).year
    rows = []
    for indicator in indicators:
        ctx = IndicatorContext(indicator, strategies[indicator.strategy_id], values[indicator.id],
                               frozenset(link.institution_id for link in links[indicator.goal_id]))  # fmt: skip
        if not ctx.kinds:
            continue
        owners = sorted((institutions[i] for i in ctx.own_value_institutions), key=lambda i: i.code) or [None]
        for year in range(ctx.strategy.period_start, min(ctx.strategy.period_end, this_year) + 1):
            for institution in owners:
                if not _may_post(principal, ctx, institution):
                    continue
                revision = current.get((indicator.id, year, institution.id if institution else None))
                rows.append({
                    "indicator_code": indicator.code, "year": str(year),
                    "institution": institution.code if institution else "",
                    "value": revision.text if revision else "", "comment": (revision.comment or "") if revision else "",
                    "expected_revision": str(revision.revision) if revision else "",
                })  # fmt: skip
    return rows
