"""GraphQL types every domain shares."""

import strawberry

from service.core import partial_date

Precision = strawberry.enum(partial_date.Precision, description="How precisely the source states a date.")


@strawberry.type(description="Text in several languages; `lv` (or `lt`) is the source text.")
class LocalizedText:
    lv: str | None = None
    en: str | None = None
    lt: str | None = None
    original: str | None = strawberry.field(
        default=None, description="The name in its own language, e.g. CTIF's French."
    )

    @classmethod
    def of(cls, value: dict | None) -> "LocalizedText | None":
        if value is None:
            return None
        return cls(lv=value.get("lv"), en=value.get("en"), lt=value.get("lt"), original=value.get("original"))


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
