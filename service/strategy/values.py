"""Reading an indicator value as the strategy prints it (`29,72`, `75%`, `29/2195`, `+10%`, `Palielinās`, `-`)
and as people type it (`13 404`, `81,5 %`, `11 / 935`, `palielinās`), and printing it back the strategy's way."""

import re
from dataclasses import dataclass
from decimal import Decimal

from service.core.errors import quoted
from service.strategy.models import ValueKind

# Thousands are grouped by a space, a no-break space (Excel in Latvian) or a narrow no-break space.
_GROUP_SPACES = " \u00a0\u202f"
# ASCII digits only: `\d` would take other scripts' digits, which nobody here means to type.
_NUMBER = rf"(?:[0-9]{{1,3}}(?:[{_GROUP_SPACES}][0-9]{{3}})+|[0-9]+)(?:[.,][0-9]+)?"
_GAP = rf"[{_GROUP_SPACES}]*"
_PATTERNS = [
    (re.compile(rf"^(?P<a>{_NUMBER}){_GAP}%$"), ValueKind.percent),
    (re.compile(rf"^(?P<a>[+-]{_GAP}{_NUMBER}){_GAP}%$"), ValueKind.change),
    (re.compile(rf"^(?P<a>{_NUMBER}){_GAP}/{_GAP}(?P<b>{_NUMBER})$"), ValueKind.pair),
    (re.compile(rf"^(?P<a>{_NUMBER})$"), ValueKind.number),
]
# Qualitative targets the strategy uses, with their meaning.
QUALITATIVE = {"Palielinās": "increases", "Samazinās": "decreases", "Saglabājas": "stays the same"}
_QUALITATIVE_BY_FOLDED = {word.casefold(): word for word in QUALITATIVE}

# What a person may type for each kind, for the message that refuses a value.
ACCEPTED_FORMS = {
    ValueKind.number: "a number: `29,72`, `29.72`, `13404`, `13 404` (space or no-break space between thousands)",
    ValueKind.percent: "a percentage between 0 and 100: `81,5%`, `81,5 %`, `81.5`, or the number 81.5",
    ValueKind.pair: "a pair units/days: `11/935`, `11 / 935`, or [11, 935]",
    ValueKind.change: "a change in percent: `+10%`, `-5,5 %`, `10`, or the number 10",
    ValueKind.qualitative: f"one of {', '.join(QUALITATIVE)} (any case), or a number",
}


@dataclass(frozen=True)
class ParsedValue:
    kind: ValueKind
    number: Decimal | None = None
    second: Decimal | None = None
    word: str | None = None  # the qualitative word, as the strategy spells it


def _decimal(text: str) -> Decimal:
    return Decimal(re.sub(f"[{_GROUP_SPACES}]", "", text).replace(",", "."))


def parse(text: str) -> ParsedValue:
    """The typed form of a printed or typed value; ValueError for text these conventions do not cover."""
    stripped = text.strip()
    if stripped == "-":
        return ParsedValue(ValueKind.none)
    if word := _QUALITATIVE_BY_FOLDED.get(stripped.casefold()):
        return ParsedValue(ValueKind.qualitative, word=word)
    for pattern, kind in _PATTERNS:
        if match := pattern.match(stripped):
            second = match.group("b") if "b" in pattern.groupindex else None
            return ParsedValue(kind, _decimal(match.group("a")), _decimal(second) if second else None)
    raise ValueError(f"{quoted(text)} is not a number, percentage, pair, change, qualitative value or '-'")


def _decimal_text(number: Decimal) -> str:
    return format(number.normalize(), "f").replace(".", ",")


def printed(value: ParsedValue) -> str:
    """The value as the strategy prints it: decimal comma, no thousands separator, `%` without a space."""
    if value.kind == ValueKind.none:
        return "-"
    if value.kind == ValueKind.qualitative:
        return value.word or ""
    if value.kind == ValueKind.pair:
        return f"{_decimal_text(value.number)}/{_decimal_text(value.second)}"
    if value.kind == ValueKind.percent:
        return f"{_decimal_text(value.number)}%"
    if value.kind == ValueKind.change:
        return f"{'+' if value.number >= 0 else '-'}{_decimal_text(abs(value.number))}%"
    return _decimal_text(value.number)


def published(number: Decimal | None, second: Decimal | None) -> tuple[float | None, list[float] | None]:
    """The typed value as the API publishes it: `value` for a single number, `pair` for two."""
    if second is not None and number is not None:
        return None, [float(number), float(second)]
    return (float(number) if number is not None else None), None
