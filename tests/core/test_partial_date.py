import pytest

from service.core.partial_date import Precision, parse


@pytest.mark.parametrize(
    ("text", "precision"),
    [
        ("1999", Precision.year),
        ("2010-05", Precision.month),
        ("2018-11-06", Precision.day),
        ("2024-02-29", Precision.day),
    ],
)
def test_precision_follows_the_text(text, precision):
    assert parse(text) == precision


@pytest.mark.parametrize(
    "text", ["", "99", "2010-5", "2010-13", "2019-02-29", "2010-05-32", "2010/05", "1999 ", "x1999"]
)
def test_anything_else_is_refused(text):
    with pytest.raises(ValueError):
        parse(text)
