"""A date in the precision its source gives: `1999`, `2010-05` or `2018-11-06`.

Sources state some dates to the year or month only; inventing a day would state a fact
the source does not. The value is kept as its ISO 8601 text, which also sorts correctly.
"""

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

from service.core.errors import quoted

_PATTERN = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class Precision(StrEnum):
    year = "year"
    month = "month"
    day = "day"


def parse(text: str) -> Precision:
    """Validate a partial date and return its precision; ValueError if it is not one."""
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"{quoted(text)} is not an ISO 8601 date of the form YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = match.groups()
    if month is None:
        return Precision.year
    if day is None:
        if not 1 <= int(month) <= 12:
            raise ValueError(f"{quoted(text)} has no month {month}")
        return Precision.month
    dt.date(int(year), int(month), int(day))  # raises ValueError for 2019-02-30
    return Precision.day


def _validated(text: str) -> str:
    parse(text)
    return text


PartialDate = Annotated[
    str,
    AfterValidator(_validated),
    Field(
        max_length=10,
        examples=["1999", "2010-05", "2018-11-06"],
        description="ISO 8601 date in the precision the source gives",
    ),
]
