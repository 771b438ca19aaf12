from decimal import Decimal

import pytest

from service.strategy.models import ValueKind
from service.strategy.values import parse, printed


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


@pytest.mark.parametrize(
    ("typed", "kind", "number", "second", "stored"),
    [
        ("13 404", ValueKind.number, Decimal("13404"), None, "13404"),
        ("13\u00a0404", ValueKind.number, Decimal("13404"), None, "13404"),  # Excel's no-break space
        ("1\u202f234\u202f567,5", ValueKind.number, Decimal("1234567.5"), None, "1234567,5"),
        ("81,5 %", ValueKind.percent, Decimal("81.5"), None, "81,5%"),
        ("81,5\u00a0%", ValueKind.percent, Decimal("81.5"), None, "81,5%"),
        ("92.5%", ValueKind.percent, Decimal("92.5"), None, "92,5%"),
        ("11 / 935", ValueKind.pair, Decimal("11"), Decimal("935"), "11/935"),
        ("1 011/13 404", ValueKind.pair, Decimal("1011"), Decimal("13404"), "1011/13404"),
        ("+ 10 %", ValueKind.change, Decimal("10"), None, "+10%"),
        ("palielinās", ValueKind.qualitative, None, None, "Palielinās"),
        ("SAMAZINĀS", ValueKind.qualitative, None, None, "Samazinās"),
        ("  Saglabājas ", ValueKind.qualitative, None, None, "Saglabājas"),
    ],
)
def test_values_as_people_type_them_are_read_and_printed_the_strategy_way(typed, kind, number, second, stored):
    parsed = parse(typed)
    assert (parsed.kind, parsed.number, parsed.second) == (kind, number, second)
    assert printed(parsed) == stored


@pytest.mark.parametrize(
    "text",
    [
        "", "abc", "1/2/3", "+", "%", "1,2,3",
        "12 34",  # not a thousands group
        "1 2345",
        "١٢",  # Arabic-Indic digits: refused, not stored as written
        "８１%",  # fullwidth digits
        "palielinas",  # a different word without its long vowel
    ],
)  # fmt: skip
def test_unknown_forms_are_refused(text):
    with pytest.raises(ValueError):
        parse(text)
