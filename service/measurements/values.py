"""The value rules of a measurement: the indicator it is for, the forms its value may take, the years it may be
posted for, and who may post it."""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from service.core.auth import Forbidden, Principal
from service.core.errors import NotFound, Problem, quoted
from service.measurements.schemas import (
    VALUE_TEXT_MAX,
)
from service.registry import repository as registry
from service.registry.models import Institution
from service.strategy import repository as strategy
from service.strategy.models import Indicator, IndicatorValue, Strategy, ValueKind
from service.strategy.values import ACCEPTED_FORMS, ParsedValue, parse, printed


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
