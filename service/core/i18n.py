"""Text in several languages. `lv` is the source text where the source is Latvian."""

import unicodedata

from pydantic import BaseModel, ConfigDict

from service.core.errors import Problem


class LocalizedText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lv: str | None = None
    en: str | None = None
    lt: str | None = None
    original: str | None = None


def fold(text: str) -> str:
    """Case- and diacritic-insensitive form of a text, for search: `Ģirģens` -> `girgens`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def required_text(text: LocalizedText, field: str) -> dict:
    """A text an entity cannot do without, as stored: the languages given, at least one of them not blank."""
    value = text.model_dump(exclude_none=True)
    if not any(part.strip() for part in value.values()):
        raise Problem(
            422, f"{field}: give the text in at least one language", errors=[{"field": field, "message": "empty"}]
        )
    return value
