"""The progress rule: how a year's official actual stands against its target.

- No target for the year (`-`) → `not_applicable`. No approved actual → `no_data`.
- A qualitative target (`Palielinās`) → the status an admin set, else `no_data`.
- Numbers (plain, percent, change): with "higher is better" an actual at or above the target is
  `achieved`, with "lower is better" at or below it; with "hold steady" within 5% of the target.
  Pairs compare both numbers that way.
- Otherwise `ratio` = (actual − baseline) / (target − baseline): how far from the baseline to the
  target the actual has come. `on_track` when ratio ≥ 0.75 (hold steady: within 15% of the target),
  else `off_track`, including any move away from the target.
"""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from service.strategy.models import Direction, ValueKind
from service.strategy.values import ParsedValue

ON_TRACK_RATIO = Decimal("0.75")
HOLD_ACHIEVED = Decimal("0.05")
HOLD_ON_TRACK = Decimal("0.15")


class ProgressStatus(StrEnum):
    achieved = "achieved"
    on_track = "on_track"
    off_track = "off_track"
    no_data = "no_data"
    not_applicable = "not_applicable"


@dataclass(frozen=True)
class Progress:
    status: ProgressStatus
    ratio: float | None = None


def _numbers(value: ParsedValue) -> list[Decimal]:
    return [n for n in (value.number, value.second) if n is not None]


def _within(actual: Decimal, target: Decimal, share: Decimal) -> bool:
    return abs(actual - target) <= abs(target) * share


def _reached(direction: Direction, actual: Decimal, target: Decimal) -> bool:
    if direction == Direction.higher_is_better:
        return actual >= target
    if direction == Direction.lower_is_better:
        return actual <= target
    return _within(actual, target, HOLD_ACHIEVED)


def evaluate(
    direction: Direction,
    target: ParsedValue | None,
    actual: ParsedValue | None,
    baseline: ParsedValue | None = None,
    assessed: ProgressStatus | None = None,
) -> Progress:
    if target is None or target.kind == ValueKind.none:
        return Progress(ProgressStatus.not_applicable)
    if target.kind == ValueKind.qualitative:
        return Progress(assessed or ProgressStatus.no_data)
    if actual is None or actual.kind in (ValueKind.none, ValueKind.qualitative):
        return Progress(ProgressStatus.no_data)
    targets, actuals = _numbers(target), _numbers(actual)
    if len(targets) != len(actuals):
        return Progress(ProgressStatus.no_data)

    ratio = None
    if direction != Direction.hold_steady and baseline is not None and len(_numbers(baseline)) == 1 == len(targets):
        (start,) = _numbers(baseline)
        if targets[0] != start:
            ratio = (actuals[0] - start) / (targets[0] - start)

    if all(_reached(direction, a, t) for a, t in zip(actuals, targets, strict=True)):
        return Progress(ProgressStatus.achieved, float(ratio) if ratio is not None else None)
    if direction == Direction.hold_steady:
        close = all(_within(a, t, HOLD_ON_TRACK) for a, t in zip(actuals, targets, strict=True))
        return Progress(ProgressStatus.on_track if close else ProgressStatus.off_track)
    on_track = ratio is not None and ratio >= ON_TRACK_RATIO
    return Progress(
        ProgressStatus.on_track if on_track else ProgressStatus.off_track, float(ratio) if ratio is not None else None
    )
