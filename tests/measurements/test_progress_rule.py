"""The progress rule at its edges (README: "Progress against targets")."""

from decimal import Decimal

import pytest

from service.measurements.progress import ProgressStatus as S
from service.measurements.progress import evaluate
from service.strategy.models import Direction as D
from service.strategy.values import parse


def run(direction, target, actual, baseline=None, assessed=None):
    result = evaluate(
        direction,
        parse(target) if target else None,
        parse(actual) if actual else None,
        parse(baseline) if baseline else None,
        assessed,
    )
    return result.status, result.ratio


@pytest.mark.parametrize(
    ("direction", "baseline", "target", "actual", "status"),
    [
        (D.lower_is_better, "29,72", "23", "21", S.achieved),  # the issue's own example
        (D.lower_is_better, "29,72", "23", "23", S.achieved),  # exactly on target
        (D.lower_is_better, "29,72", "23", "24,5", S.on_track),  # 77.7% of the way
        (D.lower_is_better, "29,72", "23", "25", S.off_track),  # 70% of the way
        (D.lower_is_better, "29,72", "23", "31", S.off_track),  # moved away
        (D.higher_is_better, "75%", "80%", "80%", S.achieved),
        (D.higher_is_better, "75%", "80%", "78,75%", S.on_track),  # exactly 0.75 of the way
        (D.higher_is_better, "75%", "80%", "78,7%", S.off_track),
        (D.higher_is_better, "75%", "80%", "74%", S.off_track),
        (D.lower_is_better, "8,9", "8,9", "8,9", S.achieved),  # target equals baseline
        (D.lower_is_better, "8,9", "8,9", "9", S.off_track),
        (D.hold_steady, "+32%", "+10%", "+10,5%", S.achieved),  # within 5%
        (D.hold_steady, "+32%", "+10%", "+11,4%", S.on_track),  # within 15%
        (D.hold_steady, "+32%", "+10%", "+12%", S.off_track),
        (D.hold_steady, "29/2195", "11/935", "11/935", S.achieved),
        (D.hold_steady, "29/2195", "11/935", "11/1100", S.off_track),
    ],
)
def test_numeric_targets(direction, baseline, target, actual, status):
    assert run(direction, target, actual, baseline)[0] == status


def test_ratio_says_how_far_from_baseline_to_target():
    assert run(D.lower_is_better, "23", "21", "29,72")[1] == pytest.approx(float(Decimal("8.72") / Decimal("6.72")))
    assert run(D.higher_is_better, "80%", "77,5%", "75%")[1] == pytest.approx(0.5)
    assert run(D.hold_steady, "+10%", "+10%", "+32%")[1] is None


def test_what_no_number_decides():
    assert run(D.higher_is_better, "-", "50%")[0] == S.not_applicable
    assert run(D.higher_is_better, None, "50%")[0] == S.not_applicable
    assert run(D.higher_is_better, "80%", None, "75%")[0] == S.no_data
    assert run(D.higher_is_better, "Palielinās", "5")[0] == S.no_data
    assert run(D.higher_is_better, "Palielinās", "5", None, S.achieved)[0] == S.achieved
