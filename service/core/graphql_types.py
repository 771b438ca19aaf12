"""GraphQL types every domain shares."""

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum, StrEnum
from operator import methodcaller
from typing import Annotated, Any, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError
from strawberry import relay
from strawberry.relay.utils import to_base64
from strawberry.schema.types.base_scalars import wrap_parser
from strawberry.types import Info
from strawberry.types.nodes import SelectedField
from strawberry.types.nodes import Selection as NodeSelection
from strawberry.types.scalar import ScalarDefinition

from service.core import partial_date
from service.core.errors import BadRequest, quoted
from service.core.graphql_bounds import at_most_characters, max_length
from service.core.graphql_cost import at_most
from service.core.i18n import NAME_MAX, TEXT_MAX
from service.core.models import as_utc, named_row_id, representable
from service.core.pagination import MAX_CURSOR_LENGTH, MAX_LIMIT, Slice
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


def graphql_enum(source: type[StrEnum], *, description: str, values: Mapping[str, str], name: str | None = None) -> Any:
    """The GraphQL side of a Python enum: the same values under upper-case names (GraphQL's convention; the
    Python and REST side keep theirs), each described. A Python member is answered by its value, so the read
    path's rows need no mapping; an input arrives as a member of this enum, equal to the Python one's value."""
    graphql = strawberry.enum(
        StrEnum(name or source.__name__, {member.name.upper(): member.value for member in source}),
        description=description,
    )
    for value in graphql.__strawberry_definition__.values:
        value.description = values[value.value]
    return graphql


Precision = graphql_enum(
    partial_date.Precision,
    description="How precisely the source states a date.",
    values={"year": "Only the year is known: `1999`.", "month": "The year and month: `2010-05`.",
            "day": "The full date: `2018-11-06`."},
)  # fmt: skip


@strawberry.type(description="Text in several languages; `lv` (or `lt`) is the source text.")
class LocalizedText:
    lv: str | None = strawberry.field(default=None, description="Latvian.")
    en: str | None = strawberry.field(default=None, description="English.")
    lt: str | None = strawberry.field(default=None, description="Lithuanian.")
    original: str | None = strawberry.field(
        default=None, description="The name in its own language, e.g. CTIF's French."
    )

    @classmethod
    def of(cls, value: dict | None) -> "LocalizedText | None":
        if value is None:
            return None
        return cls(lv=value.get("lv"), en=value.get("en"), lt=value.get("lt"), original=value.get("original"))


def _utc_moment(text: str) -> dt.datetime:
    return representable(as_utc(dt.datetime.fromisoformat(text)))


# Strawberry's DateTime, but a timestamp without an offset is UTC (as REST reads it) and one that leaves years
# 1-9999 once in UTC (0001-01-01T00:00:00+14:00) is refused as input, not an error of the server.
UTC_DATE_TIME = ScalarDefinition(
    name="DateTime",
    description="An RFC 3339 timestamp, e.g. `2025-03-01T00:00:00Z`; one without an offset is read as UTC.",
    specified_by_url=None,
    serialize=methodcaller("isoformat"),
    parse_value=wrap_parser(_utc_moment, "DateTime"),
    parse_literal=None,
    origin=dt.datetime,
)

ISO_DATE = ScalarDefinition(
    name="Date",
    description="An ISO 8601 calendar date, e.g. `2026-03-01`.",
    specified_by_url=None,
    serialize=methodcaller("isoformat"),
    parse_value=wrap_parser(dt.date.fromisoformat, "Date"),
    parse_literal=None,
    origin=dt.date,
)

PageInfo = relay.PageInfo  # Relay's own: hasNextPage, hasPreviousPage, startCursor, endCursor

# --- global object identification (Relay): a node's `id` names its type and its row ---------------------------

MAX_NODES = 100  # ids one `nodes` call takes
GLOBAL_ID = "The object's global id (Relay): pass it to `node(id:)` to fetch the object again, whatever its type."
ROW_ID = "The id REST uses for this object (`/api/v1/...` paths and bodies): join the two APIs on it."


def global_id(type_name: str, row_id: uuid.UUID) -> strawberry.ID:
    """A node's `id`, encoded once when its object is built (so answering it is reading an attribute)."""
    return strawberry.ID(to_base64(type_name, str(row_id)))


def row_id_of(value: str, type_name: str, what: str) -> uuid.UUID:
    """The row an `id` argument names: the node's global id or the REST id, both taken."""
    if (row_id := named_row_id(str(value), type_name)) is not None:
        return row_id
    raise BadRequest(f"{quoted(value)} is not {what} id (its `id` or `rowId`).")


def _row_id(value: relay.GlobalID) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.node_id)
    except ValueError:
        return None


async def resolve_nodes(info: Info, ids: list[relay.GlobalID]) -> list[Any]:
    """The nodes of these ids, in their order (None where none is), each type's read once (its `resolve_nodes`)."""
    by_type: dict[str, list[uuid.UUID]] = {}
    for value in ids:
        row_id = _row_id(value)
        if row_id is not None:
            by_type.setdefault(value.type_name, []).append(row_id)
    found: dict[tuple[str, uuid.UUID], Any] = {}
    for type_name, row_ids in by_type.items():
        definition = info.schema.get_type_by_name(type_name)
        origin = getattr(definition, "origin", None)
        if not (isinstance(origin, type) and issubclass(origin, relay.Node)):
            continue
        unique = list(dict.fromkeys(row_ids))
        nodes = await origin.resolve_nodes(info=info, node_ids=unique)
        found.update(((type_name, row_id), node) for row_id, node in zip(unique, nodes, strict=True))
    return [found.get((value.type_name, row_id)) if (row_id := _row_id(value)) else None for value in ids]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="The object with this global id (its `id`), of any type; null where there is none.")
    async def node(
        self,
        info: Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="A node's `id`.")],
    ) -> relay.Node | None:
        return (await resolve_nodes(info, [id]))[0]

    @strawberry.field(
        description=f"The objects with these global ids (at most {MAX_NODES}), in their order; null where none is.",
        metadata=at_most(MAX_NODES),
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[list[relay.GlobalID], strawberry.argument(description=f"At most {MAX_NODES} nodes' `id`s.")],
    ) -> list[relay.Node | None]:
        if len(ids) > MAX_NODES:
            raise BadRequest(f"`ids` takes at most {MAX_NODES} ids; it had {len(ids)}. Ask in several calls.")
        return await resolve_nodes(info, ids)


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


def described(kind: Any, description: str) -> Any:
    """An argument's type with its description (GraphQL shows it in every client's docs)."""
    return Annotated[kind, strawberry.argument(description=description)]


FirstArgument = described(int, f"How many items the page holds, 1 to {MAX_LIMIT}.")
IndicatorIdArgument = described(strawberry.ID, "The indicator's `id` or `rowId`.")
YearArgument = described(int, "The calendar year, e.g. 2024.")
ValueInstitutionArgument = described(
    str | None, "For an indicator with a value per institution: that institution's code (`VP`) or alias."
)
StrategyFilterArgument = described(str | None, "Only this strategy's indicators: its id or key.")
AreaFilterArgument = described(str | None, "Only this policy area's indicators: `1`…`5`, `H1`, `H2`.")
InstitutionFilterArgument = described(
    str | None, "Only the indicators of goals this institution (code) is involved in."
)

CursorArgument = Annotated[
    str | None,
    strawberry.argument(
        description=at_most_characters(MAX_CURSOR_LENGTH, "`endCursor` of the previous page."),
        metadata=max_length(MAX_CURSOR_LENGTH),
    ),
]

# A Relay connection's arguments (https://relay.dev/graphql/connections.htm): forward with `first` / `after`,
# backward with `last` / `before`; neither size given, the connection's own first page.
PageFirstArgument = described(
    int | None, f"Page forward: this many items from the start, or after `after`; 1 to {MAX_LIMIT}."
)
PageLastArgument = described(
    int | None, f"Page backward: this many items from the end, or just before `before`; 1 to {MAX_LIMIT}."
)
PageAfterArgument = Annotated[
    str | None,
    strawberry.argument(
        description=at_most_characters(MAX_CURSOR_LENGTH, "An edge's `cursor` (`endCursor`): the items after it."),
        metadata=max_length(MAX_CURSOR_LENGTH),
    ),
]
PageBeforeArgument = Annotated[
    str | None,
    strawberry.argument(
        description=at_most_characters(MAX_CURSOR_LENGTH, "An edge's `cursor` (`startCursor`): the items before it."),
        metadata=max_length(MAX_CURSOR_LENGTH),
    ),
]


def page_info(cursors: Sequence[str], part: Slice) -> PageInfo:
    """A connection's PageInfo from its edges' cursors and the slice they came from."""
    return PageInfo(
        has_next_page=part.has_next,
        has_previous_page=part.has_previous,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


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
