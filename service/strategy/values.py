"""Reading an indicator value as the strategy prints it: `29,72`, `75%`, `29/2195`, `+10%`, `Palielinās`, `-`."""

import re
from dataclasses import dataclass
from decimal import Decimal

from service.core.errors import quoted
from service.strategy.models import ValueKind

_NUMBER = r"\d+(?:[.,]\d+)?"
_PATTERNS = [
    (re.compile(rf"^(?P<a>{_NUMBER})%$"), ValueKind.percent),
    (re.compile(rf"^(?P<a>[+-]{_NUMBER})%$"), ValueKind.change),
    (re.compile(rf"^(?P<a>{_NUMBER})/(?P<b>{_NUMBER})$"), ValueKind.pair),
    (re.compile(rf"^(?P<a>{_NUMBER})$"), ValueKind.number),
]
# Qualitative targets the strategy uses, with their meaning.
QUALITATIVE = {"Palielinās": "increases", "Samazinās": "decreases", "Saglabājas": "stays the same"}


@dataclass(frozen=True)
class ParsedValue:
    kind: ValueKind
    number: Decimal | None = None
    second: Decimal | None = None


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def parse(text: str) -> ParsedValue:
    """The typed form of a printed value; ValueError for text the strategy's conventions do not cover."""
    stripped = text.strip()
    if stripped == "-":
        return ParsedValue(ValueKind.none)
    if stripped in QUALITATIVE:
        return ParsedValue(ValueKind.qualitative)
    for pattern, kind in _PATTERNS:
        if match := pattern.match(stripped):
            second = match.group("b") if "b" in pattern.groupindex else None
            return ParsedValue(kind, _decimal(match.group("a")), _decimal(second) if second else None)
    raise ValueError(f"{quoted(text)} is not a number, percentage, pair, change, qualitative value or '-'")


def published(number: Decimal | None, second: Decimal | None) -> tuple[float | None, list[float] | None]:
    """The typed value as the API publishes it: `value` for a single number, `pair` for two."""
    if second is not None and number is not None:
        return None, [float(number), float(second)]
    return (float(number) if number is not None else None), None
