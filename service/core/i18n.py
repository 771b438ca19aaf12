"""Text in several languages. `lv` is the source text where the source is Latvian."""

import unicodedata
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.core.errors import Problem

# A paragraph (a task, a SWOT factor, a note): the longest text in the sources is 700 characters.
TEXT_MAX = 2000
# A name or a title. An organisation's folded name is its sort key, and a btree index row holds at most
# 2,704 bytes: 500 characters of up to 4 bytes each stay below it.
NAME_MAX = 500

Text = Annotated[str | None, Field(max_length=TEXT_MAX)]
NameText = Annotated[str | None, Field(max_length=NAME_MAX)]


class LocalizedText(BaseModel):
    """A text in the languages the sources give; each at most `TEXT_MAX` characters."""

    model_config = ConfigDict(extra="forbid")

    lv: Text = None
    en: Text = None
    lt: Text = None
    original: Text = None


LANGUAGES = tuple(LocalizedText.model_fields)


def localized(text: dict | None) -> dict | None:
    """A stored text as `LocalizedText` prints it: every language, null where the source gives none."""
    return None if text is None else {language: text.get(language) for language in LANGUAGES}


class LocalizedName(LocalizedText):
    """A name or title in the languages the sources give; each at most `NAME_MAX` characters."""

    lv: NameText = None
    en: NameText = None
    lt: NameText = None
    original: NameText = None


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
