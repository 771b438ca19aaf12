"""The GraphQL cost budget: what an operation may cost, computed on the validated document before
anything executes.

Every field an operation selects is resolved once per parent object, so its cost is the number of
parent objects it will be resolved for. A list multiplies the objects below it by its size: `first`
on a paginated field, the number of `ids` on a field that takes them (`nodes`), else the bound
declared beside the field (`at_most(n)`: the most items the data holds, with headroom). Aliases and
fragments count wherever they are spread. The sum of resolved fields is converted to milliseconds by
`MS_PER_FIELD`, measured on the service's own answers, so the budget (and the error) speak in
milliseconds of execution.
"""

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
    get_named_type,
    get_nullable_type,
)
from strawberry.extensions import SchemaExtension

from service.core.errors import ErrorCode
from service.core.pagination import MAX_LIMIT

# Bounds are per-parent maxima, so most estimated fields are not in the data. Measured on the seeded data
# (this machine, one process, response cache off): the full tree of one strategy, 575 k estimated fields,
# runs in about 300 ms; of every strategy (bound 20, one in the data) 11.5 M in the same 300 ms. The strategy
# tree asked 31 times with an indicator → goal → indicators loop (tests/test_hostile.py) is 345 M; the issue's
# query of that shape took 61–70 s. 0.2 µs an estimated field puts it near that, today's trees far below.
MS_PER_FIELD = 0.0002
# What one introspection root field (`__schema`, `__type`) may cost: the schema is small and fixed.
INTROSPECTION_FIELDS = 5_000
_ITEMS = "max_items"
_PAGE = "page"


def at_most(items: int) -> dict[str, Any]:
    """Field metadata: this list holds at most `items` entries (the measured maximum with headroom)."""
    return {_ITEMS: items}


# Field metadata: this list is a page whose size is the enclosing field's `first` (or `last`).
PAGE_OF_FIRST: dict[str, Any] = {_ITEMS: _PAGE}
_FIRST_PAGE = "first_page"


def first_page(items: int) -> dict[str, Any]:
    """Field metadata of a Relay connection: the page it answers when neither `first` nor `last` is given."""
    return {_FIRST_PAGE: items}


def _metadata(field: GraphQLField) -> Mapping[str, Any]:
    definition = (field.extensions or {}).get("strawberry-definition")
    return getattr(definition, "metadata", None) or {}


def declared_items(field: GraphQLField) -> int | str | None:
    return _metadata(field).get(_ITEMS)


def is_list(field: GraphQLField) -> bool:
    return isinstance(get_nullable_type(field.type), GraphQLList)


class _Costing:
    """The cost of one operation; a selection set's cost per parent object is remembered, so a
    fragment spread many times is costed once and the computation stays linear in the document."""

    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.memo: dict[tuple[int, str, int], int] = {}

    def selection_set(self, parent: GraphQLNamedType, selections: SelectionSetNode, page: int) -> int:
        key = (id(selections), parent.name, page)
        if key not in self.memo:
            self.memo[key] = sum(self._selection(parent, node, page) for node in selections.selections)
        return self.memo[key]

    def _selection(self, parent: GraphQLNamedType, node, page: int) -> int:
        if isinstance(node, InlineFragmentNode):
            condition = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
            return self.selection_set(condition, node.selection_set, page)
        if isinstance(node, FragmentSpreadNode):
            fragment = self.fragments[node.name.value]
            return self.selection_set(
                self.schema.get_type(fragment.type_condition.name.value), fragment.selection_set, page
            )
        assert isinstance(node, FieldNode)
        name = node.name.value
        if name in ("__schema", "__type"):
            return INTROSPECTION_FIELDS
        fields = getattr(parent, "fields", {})
        if name not in fields or node.selection_set is None:  # __typename or a leaf
            return 1
        field = fields[name]
        first = self._first(field, node)
        items = self._items(field, page)
        if (given := self._ids(field, node)) is not None:
            items = min(items, given)
        below = self.selection_set(get_named_type(field.type), node.selection_set, first or page)
        return 1 + items * below

    def _items(self, field: GraphQLField, page: int) -> int:
        if not is_list(field):
            return 1
        declared = declared_items(field)
        if declared == _PAGE:
            return page
        return declared if isinstance(declared, int) else MAX_LIMIT

    def _ids(self, field: GraphQLField, node: FieldNode) -> int | None:
        """How many objects a field that takes `ids` answers: as many as it is given."""
        if "ids" not in field.args:
            return None
        for argument in node.arguments or ():
            if argument.name.value == "ids":
                if isinstance(argument.value, ListValueNode):
                    return len(argument.value.values)
                if isinstance(argument.value, VariableNode):
                    given = self.variables.get(argument.value.name.value)
                    return len(given) if isinstance(given, list) else MAX_LIMIT
        return MAX_LIMIT

    def _first(self, field: GraphQLField, node: FieldNode) -> int | None:
        """The page size of a paginated field: `first`, else `last` (a connection's), else its first page."""
        if "first" not in field.args:
            return None
        for name in ("first", "last"):
            value = self._argument(field, node, name)
            if isinstance(value, int) and not isinstance(value, bool):
                return min(value, MAX_LIMIT) if value > 0 else MAX_LIMIT
            if value is not None:
                return MAX_LIMIT
        return _metadata(field).get(_FIRST_PAGE, MAX_LIMIT)

    def _argument(self, field: GraphQLField, node: FieldNode, name: str) -> Any:
        """An argument's value as far as the document and its variables tell (None: not given or null)."""
        if name not in field.args:
            return None
        for argument in node.arguments or ():
            if argument.name.value == name:
                if isinstance(argument.value, IntValueNode):
                    return int(argument.value.value)
                if isinstance(argument.value, VariableNode):
                    return self.variables.get(argument.value.name.value, MAX_LIMIT)
                return None if isinstance(argument.value, NullValueNode) else MAX_LIMIT
        default = field.args[name].default_value
        return default if isinstance(default, int) else None


def operation_cost_ms(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: Mapping | None
) -> float:
    """What the chosen operation of a valid document may cost, in milliseconds."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1:
        return 0.0  # GraphQL itself refuses the request
    operation = chosen[0]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0.0
    defaults = {
        v.variable.name.value: int(v.default_value.value)
        for v in operation.variable_definitions or ()
        if isinstance(v.default_value, IntValueNode)
    }
    costing = _Costing(schema, fragments, defaults | dict(variables or {}))
    return costing.selection_set(root, operation.selection_set, MAX_LIMIT) * MS_PER_FIELD


@lru_cache(maxsize=64)
def _rule(budget_ms: float, operation_name: str | None, variables_key: tuple) -> type[ASTValidationRule]:
    variables = dict(variables_key)

    class CostBudgetRule(ASTValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            context: ValidationContext = self.context
            cost = operation_cost_ms(context.schema, node, operation_name, variables)
            if cost > budget_ms:
                self.report_error(
                    GraphQLError(
                        f"This query may cost about {cost:.0f} ms of execution; the budget is {budget_ms:.0f} ms. "
                        "Ask for fewer items (`first`), fewer nested lists or fewer aliases, or split the query.",
                        extensions={
                            "code": ErrorCode.QUERY_TOO_COSTLY,
                            "cost_ms": round(cost),
                            "budget_ms": round(budget_ms),
                        },
                    )
                )

    return CostBudgetRule


def _int_variables(variables: Mapping | None) -> tuple:
    """The integer variables (only `first` can change a cost), hashable for the rule cache."""
    integers = ((k, v) for k, v in (variables or {}).items() if isinstance(v, int) and not isinstance(v, bool))
    return tuple(sorted(integers))


class CostBudget(SchemaExtension):
    """Adds the budget to the validation rules, so an operation over it fails validation and never executes."""

    def __init__(self, *, budget_ms: float) -> None:
        self.budget_ms = budget_ms

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        rule = _rule(self.budget_ms, context.operation_name, _int_variables(context.variables))
        context.validation_rules = (*context.validation_rules, rule)
        yield


def list_fields_without_bound(schema: GraphQLSchema) -> list[str]:
    """`Type.field` of every list of objects with neither a declared bound nor a `first` above it."""
    unbounded = []
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            if is_list(field) and isinstance(get_named_type(field.type), GraphQLObjectType):
                if declared_items(field) is None:
                    unbounded.append(f"{type_.name}.{name}")
    return unbounded
