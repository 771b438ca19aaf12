from decimal import Decimal

import pytest

from service.strategy.models import ValueKind
from service.strategy.values import parse


@pytest.mark.parametrize(
    ("text", "kind", "number", "second"),
    [
        ("29,72", ValueKind.number, Decimal("29.72"), None),
        ("13404", ValueKind.number, Decimal("13404"), None),
        ("92,1", ValueKind.number, Decimal("92.1"), None),
        ("75%", ValueKind.percent, Decimal("75"), None),
        ("52,33%", ValueKind.percent, Decimal("52.33"), None),
        ("92.5%", ValueKind.percent, Decimal("92.5"), None),
        ("29/2195", ValueKind.pair, Decimal("29"), Decimal("2195")),
        ("+10%", ValueKind.change, Decimal("10"), None),
        ("-5,5%", ValueKind.change, Decimal("-5.5"), None),
        ("Palielinās", ValueKind.qualitative, None, None),
        ("-", ValueKind.none, None, None),
    ],
)
def test_every_printed_form_has_its_typed_value(text, kind, number, second):
    parsed = parse(text)
    assert (parsed.kind, parsed.number, parsed.second) == (kind, number, second)


@pytest.mark.parametrize("text", ["", "abc", "12 %", "1/2/3", "+", "%", "1,2,3"])
def test_unknown_forms_are_refused(text):
    with pytest.raises(ValueError):
        parse(text)
