"""Text in several languages. `lv` is the source text where the source is Latvian."""

import unicodedata

from pydantic import BaseModel, ConfigDict


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
