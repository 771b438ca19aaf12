"""The measurement rules: who may post what, validation against the indicator, revisions, review, progress."""

import asyncio
import datetime as dt
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.core import audit, idempotency, journal, preconditions
from service.core.auth import Forbidden, Principal, require_admin
from service.core.db import retrying_conflicts
from service.core.errors import NotFound, Problem, quoted
from service.measurements import periods, repository
from service.measurements.csv_reader import CsvTable
from service.measurements.models import Measurement, Status
from service.measurements.schemas import (
    VALUE_TEXT_MAX,
    AssessmentIn,
    ImportOutcome,
    ImportResult,
    ImportRowError,
    ImportRowResult,
    MeasurementIn,
    MeasurementOut,
)
from service.registry import repository as registry
from service.registry.models import Institution
from service.registry.service import institution_ref
from service.strategy import repository as strategy
from service.strategy.models import Indicator, IndicatorValue, Strategy, ValueKind, ValueRole
from service.strategy.service import resolve_strategy_id
from service.strategy.values import ACCEPTED_FORMS, ParsedValue, parse, printed, published


class Invalid(Problem):
    """422 naming the field and the reason."""

    def __init__(self, field: str, reason: str):
        super().__init__(422, f"{field}: {reason}", errors=[{"field": field, "message": reason}])


@dataclass(frozen=True)
class IndicatorContext:
    indicator: Indicator
    strategy: Strategy
    values: Sequence[IndicatorValue]
    goal_institution_ids: frozenset[uuid.UUID]

    @property
    def kinds(self) -> set[ValueKind]:
        return {ValueKind(v.kind) for v in self.values if v.kind != ValueKind.none}

    @property
    def own_value_institutions(self) -> set[uuid.UUID]:
        return {v.institution_id for v in self.values if v.institution_id}


async def indicator_context(session: AsyncSession, indicator_id: uuid.UUID) -> IndicatorContext:
    found = await strategy.indicator_with_strategy(session, indicator_id)
    if found is None:
        raise NotFound("indicator", str(indicator_id))
    indicator, owner = found
    values = (await strategy.values_by_indicator(session, [indicator.id]))[indicator.id]
    links = (await strategy.goal_institutions_by_goal(session, [indicator.goal_id]))[indicator.goal_id]
    return IndicatorContext(indicator, owner, values, frozenset(link.institution_id for link in links))


def _accepted_forms(kinds: set[ValueKind]) -> str:
    return "; ".join(ACCEPTED_FORMS[kind] for kind in sorted(kinds) if kind in ACCEPTED_FORMS)


def _typed(ctx: IndicatorContext, raw: str | float | list[float]) -> ParsedValue:
    """The posted value in its typed form, read the way the indicator's own values are written."""
    kinds = ctx.kinds
    if isinstance(raw, str):
        if not raw.strip() or len(raw) > VALUE_TEXT_MAX:
            raise Invalid("value", f"give the value as {_accepted_forms(kinds) or 'the strategy writes it'}")
        try:
            parsed = parse(raw)
        except ValueError as error:
            raise Invalid("value", f"{error}; this indicator takes {_accepted_forms(kinds)}") from None
        if parsed.kind != ValueKind.number:
            return parsed
        number = parsed.number  # a number typed as text means what the same JSON number means
    elif isinstance(raw, list):
        if len(raw) != 2:
            raise Invalid("value", "a pair is two numbers: [units, days]")
        first, second = (Decimal(str(n)) for n in raw)
        return ParsedValue(ValueKind.pair, first, second)
    else:
        number = Decimal(str(raw))
    if ValueKind.percent in kinds:
        return ParsedValue(ValueKind.percent, number)
    if ValueKind.change in kinds:
        return ParsedValue(ValueKind.change, number)
    return ParsedValue(ValueKind.number, number)


def validate_value(ctx: IndicatorContext, raw: str | float | list[float]) -> tuple[str, ParsedValue]:
    """The value as the strategy would print it, and its typed form; 422 listing the accepted forms otherwise."""
    parsed = _typed(ctx, raw)
    text = printed(parsed)
    allowed = ctx.kinds | ({ValueKind.number} if ValueKind.qualitative in ctx.kinds else set())
    if parsed.kind not in allowed:
        expected = ", ".join(sorted(k.value for k in allowed)) or "none"
        raise Invalid(
            "value",
            f"this indicator takes {expected} values; {quoted(text)} is a {parsed.kind.value}. "
            f"Accepted: {_accepted_forms(allowed) or 'nothing (it has no values)'}",
        )
    if parsed.kind == ValueKind.percent and not Decimal(0) <= parsed.number <= Decimal(100):
        raise Invalid("value", f"a percentage is between 0 and 100; {quoted(text)} is not")
    if parsed.kind in (ValueKind.number, ValueKind.pair) and any(
        n < 0 for n in (parsed.number, parsed.second) if n is not None
    ):
        raise Invalid("value", f"{quoted(text)} is negative; this indicator counts or measures")
    return text, parsed


def validate_year(ctx: IndicatorContext, year: int, today: dt.date | None = None) -> None:
    today = today or dt.datetime.now(dt.UTC).date()
    start, end = ctx.strategy.period_start, ctx.strategy.period_end
    if not start <= year <= end:
        raise Invalid("year", f"{year} is outside the strategy period {start}–{end}")
    if year > today.year:
        raise Invalid("year", f"{year} is in the future; actuals are posted for past or current years")


async def resolve_institution(session: AsyncSession, ctx: IndicatorContext, code: str | None) -> Institution | None:
    per_institution = ctx.own_value_institutions
    if code is None:
        if per_institution:
            raise Invalid("institution", "this indicator has a value per institution; name the institution")
        return None
    institution = await registry.get_institution_by_code(session, code)
    if institution is None:
        raise Invalid("institution", f"no institution with code {quoted(code)}")
    if not per_institution:
        raise Invalid("institution", "this indicator has no per-institution values; leave institution out")
    if institution.id not in per_institution:
        raise Invalid("institution", f"{institution.code} has no values of its own in this indicator")
    return institution


def authorize(principal: Principal, ctx: IndicatorContext, institution: Institution | None) -> None:
    """Agencies write only for goals their institution is involved in, or their own per-institution values."""
    if principal.is_admin:
        return
    own = principal.institution_id
    if institution is not None:
        if institution.id != own:
            raise Forbidden(
                f"A {principal.institution_code} token may post only {principal.institution_code}'s own values."
            )
        return
    if own not in ctx.goal_institution_ids:
        raise Forbidden(
            f"{principal.institution_code} is not involved in the goal of indicator {ctx.indicator.code}; "
            "its actuals are posted by the involved institutions."
        )


def measurement_out(
    row: Measurement, institutions: dict[uuid.UUID, Institution], previous: Measurement | None = None
) -> MeasurementOut:
    institution = institutions.get(row.institution_id) if row.institution_id else None
    value, pair = published(row.number, row.second)
    return MeasurementOut(
        id=row.id,
        indicator_id=row.indicator_id,
        year=row.year,
        institution=institution_ref(institution) if institution else None,
        revision=row.revision,
        text=row.text,
        kind=row.kind,
        value=value,
        pair=pair,
        comment=row.comment,
        source=row.source,
        status=row.status,
        posted_by=row.posted_by,
        posted_by_subject=row.posted_by_subject,
        posted_by_name=row.posted_by_name,
        posted_at=row.posted_at,
        reviewed_by=row.reviewed_by,
        reviewed_by_subject=row.reviewed_by_subject,
        reviewed_by_name=row.reviewed_by_name,
        reviewed_at=row.reviewed_at,
        review_comment=row.review_comment,
        previous_text=previous.text if previous else None,
    )


async def _locked_current(
    session: AsyncSession, indicator_id: uuid.UUID, year: int, institution_id: uuid.UUID | None
) -> Measurement | None:
    """The current revision, read after taking the slot's lock so that concurrent writers queue up."""
    await repository.lock_slots(session, [(indicator_id, year, institution_id)])
    return await repository.current_revision(session, indicator_id, year, institution_id)


def revision_etag(revision_id: uuid.UUID | str) -> str:
    """The ETag of a revision, which a correction sends back as If-Match."""
    return f'"{revision_id}"'


def _snapshot(row: Measurement | None) -> dict | None:
    if row is None:
        return None
    return {
        "revision": row.revision,
        "text": row.text,
        "status": str(row.status),
        "comment": row.comment,
        "review_comment": row.review_comment,
    }


@dataclass(frozen=True)
class Written:
    status_code: int
    body: dict
    etag: str
    replayed: bool = False


@dataclass(frozen=True)
class Posting:
    """A validated, authorized value waiting to be written."""

    ctx: IndicatorContext
    institution: Institution | None
    year: int
    text: str
    parsed: ParsedValue
    comment: str | None
    source: str | None

    @property
    def institution_id(self) -> uuid.UUID | None:
        return self.institution.id if self.institution else None


async def prepare(
    session: AsyncSession, principal: Principal, ctx: IndicatorContext, payload: MeasurementIn
) -> Posting:
    institution = await resolve_institution(session, ctx, payload.institution)
    authorize(principal, ctx, institution)
    validate_year(ctx, payload.year)
    writer = institution.code if institution else principal.institution_code
    await periods.ensure_open(session, ctx.strategy.id, payload.year, {writer})
    text, parsed = validate_value(ctx, payload.value)
    return Posting(ctx, institution, payload.year, text, parsed, payload.comment, payload.source)


async def append_revision(
    session: AsyncSession, principal: Principal, posting: Posting, current: Measurement | None
) -> Measurement:
    """The next revision, audited; the request commits."""
    row = Measurement(
        indicator_id=posting.ctx.indicator.id,
        year=posting.year,
        institution_id=posting.institution_id,
        revision=(current.revision + 1) if current else 1,
        text=posting.text,
        kind=posting.parsed.kind.value,
        number=posting.parsed.number,
        second=posting.parsed.second,
        comment=posting.comment,
        source=posting.source,
        status=Status.submitted,
        posted_by=principal.describe(),
        posted_by_token=principal.token_id,
        posted_by_subject=principal.subject,
        posted_by_name=principal.name,
        posted_at=dt.datetime.now(dt.UTC),
    )
    conflict = "Another value for the same year was posted at the same moment; fetch it and correct it."
    async with journal.savepoint(session, "measurement", conflict):
        session.add(row)
    action = "correct" if current else "create"
    await audit.record(
        session, principal, action, "measurement", row.id, _snapshot(current), _snapshot(row),
        parent=("indicator", row.indicator_id),
    )  # fmt: skip
    return row


def _check_precondition(current: Measurement | None, if_match: str | None, year: int) -> None:
    tags = preconditions.parse("If-Match", if_match) if if_match is not None else None
    if current is not None:
        # `*` matches any current revision, so it would let a correction overwrite one its sender never saw.
        if tags is None or tags == preconditions.ANY:
            raise Problem(
                428,
                f"A value for {year} exists (revision {current.revision}); a correction must send "
                f"If-Match: {revision_etag(current.id)}, the ETag of the current revision (not `*`), "
                "so that it cannot overwrite a change it has not seen.",
            )
        if not preconditions.strong_match(tags, revision_etag(current.id)):
            raise Problem(
                412,
                f"The value changed meanwhile: the current revision is {current.revision}, "
                f"ETag {revision_etag(current.id)}.",
            )
    elif tags is not None:
        raise Problem(412, f"There is no value for {year} yet to match {quoted(if_match)}; post it without If-Match.")


async def record_measurement(
    session: AsyncSession,
    principal: Principal,
    indicator_id: uuid.UUID,
    payload: MeasurementIn,
    *,
    if_match: str | None,
    idempotency_key: str | None,
) -> Written:
    """Post a year's actual, or correct it: every post is a new revision, none overwrites another."""
    posting = await prepare(session, principal, await indicator_context(session, indicator_id), payload)
    fingerprint = None
    if idempotency_key is not None:
        fingerprint = idempotency.fingerprint("measurement", str(indicator_id), payload.model_dump(mode="json"))

    async def write() -> Written:
        if idempotency_key is not None:
            earlier = await idempotency.claim(session, principal.key, idempotency_key, fingerprint)
            if earlier is not None:
                return Written(earlier.status_code, earlier.body, revision_etag(earlier.body["id"]), replayed=True)
        current = await _locked_current(session, indicator_id, posting.year, posting.institution_id)
        _check_precondition(current, if_match, posting.year)
        row = await append_revision(session, principal, posting, current)
        institutions = {posting.institution.id: posting.institution} if posting.institution else {}
        body = measurement_out(row, institutions, current).model_dump(mode="json")
        if idempotency_key is not None:
            await idempotency.remember(session, principal.key, idempotency_key, 201, body)
        return Written(201, body, revision_etag(row.id))

    return await retrying_conflicts(session, write)


IMPORT_COLUMNS = ("indicator_code", "year", "institution", "value", "comment")
OPTIONAL_IMPORT_COLUMNS = ("expected_revision",)


@dataclass(frozen=True)
class ImportLine:
    line: int
    posting: Posting
    expected_revision: int | None


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
    posting = await prepare(session, principal, contexts[indicator.id], payload)
    return ImportLine(line, posting, int(expected_text) if expected_text else None)


IMPORT_ROWS_PER_TURN = 200


async def import_rows(
    session: AsyncSession, principal: Principal, table: CsvTable, strategy_key: str | None
) -> tuple[ImportResult | None, list[ImportRowError]]:
    """Check every row first; write all of them in one transaction, or none if any row fails."""
    strategy_id = await resolve_strategy_id(session, strategy_key) if strategy_key else None
    by_code: dict[str, list[Indicator]] = {}
    for indicator in await strategy.list_indicators(
        session, strategy.IndicatorQuery(strategy_id=strategy_id), 100_000, None
    ):
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
        except periods.PeriodClosed:
            raise  # the whole file is refused: the year is closed for every row of it
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
                outcomes.append((checked, _import_outcome(checked, current.get(_slot_of(checked.posting)))))
            except Problem as problem:
                failed.append(_problem_row(checked.line, problem))
        if failed:
            return None, sorted(failed, key=lambda e: e.row)
        results, written = [], []
        for checked, outcome in outcomes:
            previous = current.get(_slot_of(checked.posting))
            row = previous
            if outcome != ImportOutcome.unchanged:
                row = await append_revision(session, principal, checked.posting, previous)
                institution = checked.posting.institution
                written.append(measurement_out(row, {institution.id: institution} if institution else {}, previous))
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
    indicators = await strategy.list_indicators(session, query, 100_000, None)
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


async def review(
    session: AsyncSession,
    principal: Principal,
    indicator_id: uuid.UUID,
    year: int,
    institution_code: str | None,
    *,
    approve: bool,
    comment: str | None,
) -> tuple[MeasurementOut, str]:
    """An admin approves the current revision, or returns it with a comment for the agency to correct."""
    require_admin(principal)
    ctx = await indicator_context(session, indicator_id)
    institution = await resolve_institution(session, ctx, institution_code)
    institution_id = institution.id if institution else None
    if not approve and not (comment and comment.strip()):
        raise Invalid("comment", "say why the value is returned, so that the agency can correct it")
    # An exception of the institution that posted the value lets it be reviewed (a later revision in a closed
    # year can only come from an institution with an exception too).
    unlocked = await repository.current_revision(session, indicator_id, year, institution_id)
    poster = unlocked.posted_by.split(":", 1)[-1] if unlocked else None
    await periods.ensure_open(session, ctx.strategy.id, year, {institution.code if institution else None, poster})

    async def write() -> Measurement:
        current = await _locked_current(session, indicator_id, year, institution_id)
        if current is None:
            raise NotFound("measurement", f"{ctx.indicator.code} {year}")
        if current.status != Status.submitted:
            raise Problem(
                409, f"Revision {current.revision} is already {current.status}; only a submitted value is reviewed."
            )
        before = _snapshot(current)
        current.status = Status.approved if approve else Status.returned
        current.reviewed_by = principal.describe()
        current.reviewed_by_subject, current.reviewed_by_name = principal.subject, principal.name
        current.reviewed_at = dt.datetime.now(dt.UTC)
        current.review_comment = comment
        await session.flush()
        action = "approve" if approve else "return"
        await audit.record(
            session, principal, action, "measurement", current.id, before, _snapshot(current),
            parent=("indicator", current.indicator_id),
        )  # fmt: skip
        return current

    reviewed = await retrying_conflicts(session, write)
    institutions = {institution.id: institution} if institution else {}
    return measurement_out(reviewed, institutions), revision_etag(reviewed.id)


async def assess(session: AsyncSession, principal: Principal, indicator_id: uuid.UUID, payload: AssessmentIn) -> None:
    """An admin's status for a qualitative target."""
    require_admin(principal)
    ctx = await indicator_context(session, indicator_id)
    institution = await resolve_institution(session, ctx, payload.institution)
    institution_id = institution.id if institution else None
    target = next(
        (
            v
            for v in ctx.values
            if v.year == payload.year and v.institution_id == institution_id and v.role == ValueRole.target
        ),
        None,
    )
    if target is None or target.kind != ValueKind.qualitative:
        raise Invalid("year", f"indicator {ctx.indicator.code} has no qualitative target for {payload.year}")
    await periods.ensure_open(session, ctx.strategy.id, payload.year, {institution.code if institution else None})
    values = {
        "indicator_id": indicator_id, "year": payload.year, "institution_id": institution_id,
        "status": payload.status.value, "comment": payload.comment, "set_by": principal.describe(),
    }  # fmt: skip

    async def write() -> None:
        # The upsert alone would not fail; the lock makes `before` the assessment this one replaces.
        await repository.lock_slots(session, [(indicator_id, payload.year, institution_id)], of="assessment")
        existing = await repository.assessment(session, indicator_id, payload.year, institution_id)
        before = {"status": existing.status, "comment": existing.comment} if existing else None
        row_id = await repository.upsert_assessment(
            session, values | {"id": uuid.uuid4(), "set_at": dt.datetime.now(dt.UTC)}
        )
        after = {"status": values["status"], "comment": values["comment"]}
        parent = ("indicator", indicator_id)
        await audit.record(session, principal, "assess", "progress_assessment", row_id, before, after, parent=parent)

    await retrying_conflicts(session, write)
