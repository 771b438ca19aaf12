"""GraphQL types every domain shares."""

import dataclasses
from collections.abc import Iterable
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError
from strawberry.types import Info
from strawberry.types.nodes import SelectedField
from strawberry.types.nodes import Selection as NodeSelection

from service.core import partial_date
from service.core.errors import BadRequest
from service.core.graphql_bounds import at_most_characters, max_length
from service.core.i18n import NAME_MAX, TEXT_MAX
from service.core.pagination import MAX_CURSOR_LENGTH, MAX_LIMIT
from service.core.preconditions import as_entity_tag


class Selection:
    """The fields a query asks for below one field, by their GraphQL names: fragments and inline fragments
    resolved, the same field asked twice (under aliases) merged. A root field reads it once, to fetch the
    whole subtree at once."""

    def __init__(self, selections: Iterable[NodeSelection]) -> None:
        self._fields: dict[str, list[NodeSelection]] = {}
        pending = list(selections)
        while pending:
            selection = pending.pop()
            if isinstance(selection, SelectedField):
                self._fields.setdefault(selection.name, []).extend(selection.selections)
            else:
                pending.extend(selection.selections)

    @classmethod
    def of(cls, info: Info) -> "Selection":
        return cls(selection for selected in info.selected_fields for selection in selected.selections)

    def __contains__(self, name: str) -> bool:
        return name in self._fields

    def get(self, name: str) -> "Selection | None":
        return Selection(self._fields[name]) if name in self._fields else None


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


def check_first(first: int) -> None:
    """A connection's page size; GraphQL has no `ge`/`le` on an argument, so it is checked here."""
    if not 1 <= first <= MAX_LIMIT:
        raise BadRequest(f"`first` must be between 1 and {MAX_LIMIT}; it was {first}.")


_TEXT = f"At most {TEXT_MAX} characters; a name or title at most {NAME_MAX}."


@strawberry.input(
    description="Text in several languages. In an update, a language left out keeps its text; null removes it."
)
class LocalizedTextInput:
    lv: str | None = strawberry.field(default=strawberry.UNSET, description=_TEXT, metadata=max_length(TEXT_MAX))
    en: str | None = strawberry.field(default=strawberry.UNSET, description=_TEXT, metadata=max_length(TEXT_MAX))
    lt: str | None = strawberry.field(default=strawberry.UNSET, description=_TEXT, metadata=max_length(TEXT_MAX))
    original: str | None = strawberry.field(default=strawberry.UNSET, description=_TEXT, metadata=max_length(TEXT_MAX))


def input_fields(value: Any) -> Any:
    """A Strawberry input as the JSON a REST body would carry: UNSET fields left out, null kept (merge-patch)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: input_fields(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if getattr(value, field.name) is not strawberry.UNSET
        }
    if isinstance(value, list):
        return [input_fields(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    return value


CursorArgument = Annotated[
    str | None,
    strawberry.argument(
        description=at_most_characters(MAX_CURSOR_LENGTH, "`endCursor` of the previous page."),
        metadata=max_length(MAX_CURSOR_LENGTH),
    ),
]

M = TypeVar("M", bound=BaseModel)


def validated_input(model: type[M], value: Any) -> M:
    """A GraphQL input checked by the REST body's model: one set of rules, two doors."""
    try:
        return model.model_validate(input_fields(value))
    except ValidationError as error:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise BadRequest(reasons) from None


ETAG_DESCRIPTION = "The entity's ETag, as REST sends it: what an edit of it passes as `ifMatch`."
IfMatchArgument = Annotated[
    str | None,
    strawberry.argument(
        description="Required: the `etag` of the entity as you last read it "
        "(PRECONDITION_REQUIRED without it, PRECONDITION_FAILED when it changed since)."
    ),
]


def if_match_of(value: str | None) -> str | None:
    """The `ifMatch` argument as an If-Match value: the ETag with or without its quotes."""
    return as_entity_tag(value) if value is not None else None
