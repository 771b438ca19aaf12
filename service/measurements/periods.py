"""Reporting periods: a strategy year's opening and due dates, closing it, reopening it, and the exceptions that
let one institution still write a closed year. Every write path of a measurement asks `ensure_open` first.

A year without a row follows the default rule: agencies report it from 1 January of the next year, due by
1 March of the next year (a default chosen early in the year that evaluates the previous one; the dates are the
ministry's to set). The row is written when an admin sets the dates or closes the year.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.core import audit
from service.core.auth import Principal, require_admin
from service.core.errors import Problem, quoted
from service.core.models import stable_id
from service.measurements.models import ReportingException, ReportingPeriod
from service.registry import repository as registry
from service.registry.models import Institution

DEFAULT_DUE = (3, 1)  # month, day of the year after the reported one


def default_dates(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year + 1, 1, 1), dt.date(year + 1, *DEFAULT_DUE)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class PeriodClosed(Problem):
    """409 naming the closed year and who closed it; GraphQL `PERIOD_CLOSED`."""

    def __init__(self, period: ReportingPeriod):
        super().__init__(
            409,
            f"Reporting year {period.year} is closed (closed by {period.closed_by} at "
            f"{period.closed_at:%Y-%m-%d %H:%M} UTC): its values no longer change. Ask the ministry to reopen the "
            "year or to grant your institution an exception.",
            code="PERIOD_CLOSED",
            closed_year=period.year,
            closed_by=period.closed_by,
            closed_at=period.closed_at.isoformat(),
        )


@dataclass(frozen=True)
class Period:
    """A reporting year as it stands: its row, or the default rule's dates when it has none."""

    strategy_id: uuid.UUID
    year: int
    opens_on: dt.date
    due_on: dt.date
    closed_at: dt.datetime | None
    closed_by: str | None
    exceptions: list[tuple[Institution, ReportingException]]

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


def period_id(strategy_id: uuid.UUID, year: int) -> uuid.UUID:
    return stable_id("reporting_period", str(strategy_id), str(year))


# A year's writers hold its lock shared until their transactions end; an admin's close, reopen, dates or exception
# takes it exclusive, so it waits for the writes that found the year open, and the writes after it see what it did.
# An advisory lock, not a row lock: a year with no row yet (the default rule) is locked the same way.
_SHARED = text("SELECT pg_advisory_xact_lock_shared(hashtextextended(:key, 0))")
_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def _lock(session: AsyncSession, strategy_id: uuid.UUID, year: int, statement) -> None:
    await session.execute(statement, {"key": f"reporting_period:{strategy_id}:{year}"})


async def _row(session: AsyncSession, strategy_id: uuid.UUID, year: int) -> ReportingPeriod | None:
    stmt = select(ReportingPeriod).where(ReportingPeriod.strategy_id == strategy_id, ReportingPeriod.year == year)
    return (await session.scalars(stmt.execution_options(populate_existing=True))).first()


async def _locked_row(session: AsyncSession, strategy_id: uuid.UUID, year: int) -> ReportingPeriod:
    """The year's row, written with the default dates if it had none, for an admin's change of it."""
    await _lock(session, strategy_id, year, _EXCLUSIVE)
    row = await _row(session, strategy_id, year)
    if row is None:
        opens_on, due_on = default_dates(year)
        values = {"id": period_id(strategy_id, year), "strategy_id": strategy_id, "year": year,
                  "opens_on": opens_on, "due_on": due_on}  # fmt: skip
        await session.execute(insert(ReportingPeriod.__table__).values(**values).on_conflict_do_nothing())
        row = await _row(session, strategy_id, year)
    return row


async def period(session: AsyncSession, strategy_id: uuid.UUID, year: int) -> Period:
    row = await _row(session, strategy_id, year)
    if row is None:
        return Period(strategy_id, year, *default_dates(year), None, None, [])
    stmt = (
        select(Institution, ReportingException)
        .join(ReportingException, ReportingException.institution_id == Institution.id)
        .where(ReportingException.period_id == row.id)
        .order_by(Institution.code)
    )
    exceptions = [(i, e) for i, e in (await session.execute(stmt)).all()]
    return Period(strategy_id, year, row.opens_on, row.due_on, row.closed_at, row.closed_by, exceptions)


def _excepted(period: Period, institution_codes: set[str]) -> bool:
    return any(i.code in institution_codes and e.until >= today() for i, e in period.exceptions)


async def ensure_open(
    session: AsyncSession, strategy_id: uuid.UUID, year: int, institution_codes: set[str | None]
) -> None:
    """Refuse a write to a closed year unless one of the institutions it is written for has an exception.

    Takes the year's lock shared until the transaction ends, so a close waits for the writes that passed here
    and no write slips into a year after it closed. Called before the write takes its slots' locks (always in
    that order, so they cannot deadlock). A transaction checks a year (for the same institutions) once."""
    codes = {code for code in institution_codes if code}
    # What the request's session found, open or closed, holds until it commits: it holds the year's lock shared,
    # so no close or reopen comes between (an import asks once per year, however many of its rows name it).
    found: dict[tuple, PeriodClosed | None] = session.info.setdefault("periods_found", {})
    key = (strategy_id, year, frozenset(codes))
    if key not in found:
        await _lock(session, strategy_id, year, _SHARED)
        row = await _row(session, strategy_id, year)
        closed = row is not None and row.closed_at is not None
        excepted = closed and _excepted(await period(session, strategy_id, year), codes)
        found[key] = PeriodClosed(row) if closed and not excepted else None
    if (refusal := found[key]) is not None:
        raise refusal


def _snapshot(row: ReportingPeriod) -> dict:
    return {
        "year": row.year, "opens_on": row.opens_on.isoformat(), "due_on": row.due_on.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None, "closed_by": row.closed_by,
    }  # fmt: skip


async def set_dates(
    session: AsyncSession, principal: Principal, strategy_id: uuid.UUID, year: int, opens_on: dt.date, due_on: dt.date
) -> Period:
    require_admin(principal)
    if opens_on > due_on:
        raise Problem(422, f"The year opens on {opens_on} but is due on {due_on}; the opening comes first.")
    row = await _locked_row(session, strategy_id, year)
    before = _snapshot(row)
    row.opens_on, row.due_on = opens_on, due_on
    await session.flush()
    await audit.record(session, principal, "schedule", "reporting_period", row.id, before, _snapshot(row))
    return await period(session, strategy_id, year)


async def close(session: AsyncSession, principal: Principal, strategy_id: uuid.UUID, year: int) -> Period:
    """Close the year: from now on no post, correction, import or review of it, except by an exception."""
    require_admin(principal)
    row = await _locked_row(session, strategy_id, year)
    if row.closed_at is not None:
        raise Problem(
            409, f"Reporting year {year} is already closed (by {row.closed_by} at {row.closed_at:%Y-%m-%d %H:%M} UTC)."
        )
    before = _snapshot(row)
    row.closed_at, row.closed_by = dt.datetime.now(dt.UTC), principal.signature()
    await session.flush()
    await audit.record(session, principal, "close", "reporting_period", row.id, before, _snapshot(row))
    return await period(session, strategy_id, year)


async def reopen(session: AsyncSession, principal: Principal, strategy_id: uuid.UUID, year: int, reason: str) -> Period:
    require_admin(principal)
    row = await _locked_row(session, strategy_id, year)
    if row.closed_at is None:
        raise Problem(409, f"Reporting year {year} is not closed; there is nothing to reopen.")
    before = _snapshot(row)
    row.closed_at, row.closed_by = None, None
    await session.flush()
    await audit.record(
        session, principal, "reopen", "reporting_period", row.id, before, _snapshot(row) | {"reason": reason}
    )
    return await period(session, strategy_id, year)


async def grant_exception(
    session: AsyncSession,
    principal: Principal,
    strategy_id: uuid.UUID,
    year: int,
    institution_code: str,
    until: dt.date,
    reason: str,
) -> Period:
    """One institution may write the closed year until `until` (inclusive); granting again replaces the date."""
    require_admin(principal)
    institution = await registry.get_institution_by_code(session, institution_code)
    if institution is None:
        raise Problem(422, f"No institution with code {quoted(institution_code)}.")
    row = await _locked_row(session, strategy_id, year)
    existing = (
        await session.scalars(
            select(ReportingException).where(
                ReportingException.period_id == row.id, ReportingException.institution_id == institution.id
            )
        )
    ).first()
    before = (
        {"institution": institution.code, "until": existing.until.isoformat(), "reason": existing.reason}
        if existing
        else None
    )
    if existing is None:
        existing = ReportingException(
            id=stable_id("reporting_exception", str(row.id), str(institution.id)), period_id=row.id,
            institution_id=institution.id, until=until, reason=reason, granted_by=principal.describe(),
        )  # fmt: skip
        session.add(existing)
    else:
        existing.until, existing.reason, existing.granted_by = until, reason, principal.describe()
    await session.flush()
    after = {"institution": institution.code, "until": until.isoformat(), "reason": reason, "year": year}
    await audit.record(
        session, principal, "grant_exception", "reporting_exception", existing.id, before, after,
        parent=("reporting_period", row.id),
    )  # fmt: skip
    return await period(session, strategy_id, year)
