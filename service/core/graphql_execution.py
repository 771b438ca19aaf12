"""GraphQL execution with a compiled completion of plain objects.

graphql-core completes every field of an answer through the same general steps: a path, a resolve info, the
resolver, the type checks of `complete_value`, the leaf's coercion. For a field that only reads an attribute of an
object already loaded, that generality is nearly the whole cost of the answer. This executor compiles, once per
object type and field nodes of a (cached) document, a plan of the sub-selection: a plain attribute (a Strawberry
field without resolver or arguments) is read and serialised directly, `__typename` is a constant, and every other
field goes through graphql-core's own `execute_field` with its path. Whatever the plan does not expect (a null for
a non-null field, a value a leaf cannot take, an awaitable) is handed to `execute_field` too, before anything of
it was completed, so errors, their paths and the nulls they cause are exactly graphql-core's.

The plan is used only where collecting the sub-fields does not depend on the request: a selection with a
directive (`@skip`, `@include`, …), an abstract type, an object type with its own `is_type_of`, field middleware
(a Strawberry extension's `resolve`) or incremental delivery take graphql-core's path. A type that implements
an interface (a Relay `Node`) gets Strawberry's `is_type_of`, an `isinstance` check: its plan is used for objects of
exactly its class, which that check accepts, and anything else takes graphql-core's path, which makes it.
"""

import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    is_enum_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetails, collect_subfields
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

PLANS_KEPT = 4096  # compiled selections per process; a frontend's documents need a few hundred
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_MISS = object()  # a leaf value the fast serialisers do not take: `execute_field` completes it

TYPENAME, LEAF, LEAF_LIST, OBJECT, OBJECT_LIST, DELEGATE = range(6)


def _int(value: Any) -> Any:
    return value if value.__class__ is int and _INT_MIN <= value <= _INT_MAX else _MISS


def _float(value: Any) -> Any:
    return value if value.__class__ is float and math.isfinite(value) else _MISS


# A value of exactly this Python type is its own output (graphql-core's coercion returns it unchanged).
_EXACT = {GraphQLString.name: str, GraphQLID.name: str, GraphQLBoolean.name: bool}
_FAST = {GraphQLInt.name: _int, GraphQLFloat.name: _float}
_BUILT_IN = (GraphQLString, GraphQLID, GraphQLInt, GraphQLFloat, GraphQLBoolean)
_NEVER_AWAITABLE = frozenset({dict, list, str, int, float, bool, type(None)})
_PLAIN_CLASSES: set[type] = set()  # Strawberry types: never null, an error or awaitable


def _leaf_serialiser(leaf_type: Any) -> Callable[[Any], Any]:
    """The leaf's output coercion, `_MISS` where it fails (graphql-core then raises the error itself, located).
    An enum's few values are coerced once each."""
    fast = _FAST.get(leaf_type.name) if leaf_type in _BUILT_IN else None
    coerce = leaf_type.coerce_output_value
    known: dict[tuple[type, Any], Any] | None = {} if is_enum_type(leaf_type) else None

    def serialise(value: Any) -> Any:
        if fast is not None and (done := fast(value)) is not _MISS:
            return done
        if isinstance(value, Exception):
            return _MISS
        key = (value.__class__, value) if known is not None and value.__hash__ is not None else None
        if key is not None and key in known:
            return known[key]
        try:
            coerced = coerce(value)
        except Exception:
            return _MISS
        done = _MISS if coerced is None or coerced is Undefined else coerced
        if key is not None and done is not _MISS:
            known[key] = done
        return done

    return serialise


def _exact_type(leaf_type: Any) -> type | None:
    return _EXACT.get(leaf_type.name) if leaf_type in _BUILT_IN else None


class FieldPlan:
    __slots__ = ("details", "exact", "item_non_null", "item_type", "kind", "name", "non_null", "plan",
                 "python_name", "return_type", "serialise")  # fmt: skip

    def __init__(self, kind: int, name: str, details: list[FieldDetails], return_type: GraphQLOutputType) -> None:
        self.kind, self.name, self.details, self.return_type = kind, name, details, return_type
        self.non_null = is_non_null_type(return_type)
        self.python_name = ""
        self.serialise: Callable[[Any], Any] | None = None
        self.exact: type | None = None
        self.plan: ObjectPlan | None = None
        self.item_type: GraphQLOutputType | None = None
        self.item_non_null = False


class ObjectPlan:
    __slots__ = ("exact_class", "fields", "object_type", "type_name")

    def __init__(self, object_type: GraphQLObjectType, exact_class: type | None) -> None:
        self.object_type = object_type
        self.type_name = object_type.name
        self.fields: list[FieldPlan] = []
        self.exact_class = exact_class  # the only class the plan completes, where the type checks `is_type_of`


def _has_directives(selection_set: SelectionSetNode | None, fragments: dict, seen: set[str]) -> bool:
    """Whether collecting this selection's fields could depend on the request (a directive at its level)."""
    if selection_set is None:
        return False
    for selection in selection_set.selections:
        if selection.directives:
            return True
        if isinstance(selection, InlineFragmentNode):
            if _has_directives(selection.selection_set, fragments, seen):
                return True
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is None or _has_directives(fragment.selection_set, fragments, seen):
                return True
    return False


def _unwrapped(output_type: GraphQLOutputType) -> tuple[GraphQLOutputType, bool]:
    return (output_type.of_type, True) if is_non_null_type(output_type) else (output_type, False)


def _plain_attribute(field_def: Any) -> str | None:
    """The Python attribute a Strawberry field without resolver, arguments or field extensions reads."""
    if field_def.args or not getattr(field_def.resolve, "_is_default", False):
        return None
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or definition.default_resolver is not getattr:
        return None
    return definition.python_name


class PlannedExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, completing objects of plain attributes from a plan compiled once."""

    # (object type, ids of the field nodes) -> (the type and nodes, kept alive so no id is reused, plan or None)
    _plans: "OrderedDict[tuple, tuple[Any, tuple[FieldNode, ...], ObjectPlan | None]]" = OrderedDict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._planning = manager is None or not manager.middlewares

    # --- compiling ---------------------------------------------------------------------------------------

    def _plan(self, object_type: GraphQLObjectType, details: Sequence[FieldDetails]) -> ObjectPlan | None:
        nodes = tuple(detail.node for detail in details)
        key = (id(object_type), *map(id, nodes))
        plans = self._plans
        cached = plans.get(key)
        if cached is not None:
            return cached[2]
        plan = self._compile(object_type, details, nodes)
        plans[key] = (object_type, nodes, plan)
        if len(plans) > PLANS_KEPT:
            plans.popitem(last=False)
        return plan

    def _compile(
        self, object_type: GraphQLObjectType, details: Sequence[FieldDetails], nodes: tuple[FieldNode, ...]
    ) -> ObjectPlan | None:
        exact_class = None
        if object_type.is_type_of is not None:
            definition = (object_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if definition is None or definition.is_type_of is not None:
                return None  # the type's own check: graphql-core makes it
            exact_class = definition.origin  # Strawberry's isinstance check, for an interface's implementation
        if any(detail.defer_usage is not None or detail.fragment_variable_values is not None for detail in details):
            return None
        definitions = {name: fragment.definition for name, fragment in self.fragments.items()}
        if any(_has_directives(node.selection_set, definitions, set()) for node in nodes):
            return None
        grouped, defer_usages, *_ = collect_subfields(
            self.schema, self.fragments, self.variable_values, self.operation, object_type, list(details),
            self.hide_suggestions,
        )  # fmt: skip
        if defer_usages:
            return None
        plan = ObjectPlan(object_type, exact_class)
        for name, sub_details in grouped.items():
            field_name = sub_details[0].node.name.value
            if field_name == "__typename":
                plan.fields.append(FieldPlan(TYPENAME, name, sub_details, GraphQLString))
                continue
            field_def = self.schema.get_field(object_type, field_name)
            if field_def is None:
                continue  # graphql-core leaves it out of the answer too
            plan.fields.append(self._field_plan(name, sub_details, field_def))
        return plan

    def _field_plan(self, name: str, details: list[FieldDetails], field_def: Any) -> FieldPlan:
        python_name = _plain_attribute(field_def)
        delegate = FieldPlan(DELEGATE, name, details, field_def.type)
        if python_name is None:
            return delegate
        inner, _ = _unwrapped(field_def.type)
        if is_list_type(inner):
            item_type = inner.of_type
            item, item_non_null = _unwrapped(item_type)
            if is_leaf_type(item):
                field = FieldPlan(LEAF_LIST, name, details, field_def.type)
                field.serialise, field.exact = _leaf_serialiser(item), _exact_type(item)
            elif is_object_type(item) and (plan := self._plan(item, details)) is not None:
                field = FieldPlan(OBJECT_LIST, name, details, field_def.type)
                field.plan = plan
            else:
                return delegate
            field.item_type, field.item_non_null = item_type, item_non_null
        elif is_leaf_type(inner):
            field = FieldPlan(LEAF, name, details, field_def.type)
            field.serialise, field.exact = _leaf_serialiser(inner), _exact_type(inner)
        elif is_object_type(inner) and (plan := self._plan(inner, details)) is not None:
            field = FieldPlan(OBJECT, name, details, field_def.type)
            field.plan = plan
        else:
            return delegate
        field.python_name = python_name
        return field

    # --- graphql-core's entry points ---------------------------------------------------------------------

    def complete_object_value(self, return_type, field_details_list, info, path, result, position_context):  # type: ignore[no-untyped-def]
        if position_context is None and self._planning:
            plan = self._plan(return_type, field_details_list)
            if plan is not None and (plan.exact_class is None or result.__class__ is plan.exact_class):
                return self._complete_object(plan, result, path)
        return super().complete_object_value(return_type, field_details_list, info, path, result, position_context)

    def complete_list_value(self, return_type, field_details_list, info, path, result, position_context):  # type: ignore[no-untyped-def]
        if position_context is None and self._planning and type(result) in (list, tuple):
            item_type = return_type.of_type
            item, _ = _unwrapped(item_type)
            if is_object_type(item):
                plan = self._plan(item, field_details_list)
                if plan is not None and self._plain_items(result, plan.exact_class):
                    return self._complete_list(plan, item_type, field_details_list, result, path)
        return super().complete_list_value(return_type, field_details_list, info, path, result, position_context)

    # --- completing ----------------------------------------------------------------------------------------

    def _plain_items(self, items: Sequence[Any], exact_class: type | None) -> bool:
        """No item is null, an error or awaitable (those take graphql-core's path), nor of another class than the
        plan's own where it has one: an item of a Strawberry type seen once is known not to be, so a long list
        costs a set lookup per item."""
        seen, is_awaitable = _PLAIN_CLASSES, self.is_awaitable
        for item in items:
            cls = item.__class__
            if exact_class is not None and cls is not exact_class:
                return False
            if cls in seen:
                continue
            if item is None or isinstance(item, Exception) or is_awaitable(item):
                return False
            if hasattr(cls, "__strawberry_definition__"):
                seen.add(cls)
        return True

    def _execute(self, plan: ObjectPlan, field: FieldPlan, source: Any, path: Path | None) -> Any:
        """graphql-core's own execution of the field, where the plan has nothing faster or met the unexpected."""
        return self.execute_field(plan.object_type, source, field.details, Path(path, field.name, plan.type_name), None)

    def _complete_object(self, plan: ObjectPlan, source: Any, path: Path | None) -> Any:
        results: dict[str, Any] = {}
        pending: list[str] = []
        try:
            for field in plan.fields:
                kind, name = field.kind, field.name
                if kind == LEAF:  # the bulk of an answer: handled here, without a call where it can be
                    value = getattr(source, field.python_name)
                    if value is not None:
                        if value.__class__ is field.exact:
                            results[name] = value
                            continue
                        done = field.serialise(value)
                        if done is not _MISS:
                            results[name] = done
                            continue
                    elif not field.non_null:
                        results[name] = None
                        continue
                    value = self._execute(plan, field, source, path)
                elif kind == TYPENAME:
                    results[name] = plan.type_name
                    continue
                elif kind == DELEGATE:
                    value = self._execute(plan, field, source, path)
                else:
                    value = self._complete_attribute(plan, field, source, path)
                if value is Undefined:
                    continue
                results[name] = value
                if value.__class__ not in _NEVER_AWAITABLE and self.is_awaitable(value):
                    pending.append(name)
        except Exception:
            if pending:
                self.settle_in_background([results[name] for name in pending])
            raise
        if not pending:
            return results

        async def awaited() -> dict[str, Any]:
            if len(pending) == 1:
                results[pending[0]] = await results[pending[0]]
            else:
                results.update(zip(pending, await gather_with_cancel(*(results[n] for n in pending)), strict=True))
            return results

        return awaited()

    def _complete_attribute(self, plan: ObjectPlan, field: FieldPlan, source: Any, path: Path | None) -> Any:
        value = getattr(source, field.python_name)
        if value is None:
            return self._execute(plan, field, source, path) if field.non_null else None
        kind = field.kind
        if kind == LEAF_LIST:
            done = self._leaf_list(field, value)
            return self._execute(plan, field, source, path) if done is _MISS else done
        is_awaitable = self.is_awaitable
        if isinstance(value, Exception) or is_awaitable(value):
            return self._execute(plan, field, source, path)
        exact_class = field.plan.exact_class  # type: ignore[union-attr]  # an object's plan
        if kind == OBJECT_LIST and not (type(value) in (list, tuple) and self._plain_items(value, exact_class)):
            return self._execute(plan, field, source, path)
        if kind == OBJECT and exact_class is not None and value.__class__ is not exact_class:
            return self._execute(plan, field, source, path)
        field_path = Path(path, field.name, plan.type_name)
        try:
            if kind == OBJECT:
                completed = self._complete_object(field.plan, value, field_path)
            else:
                completed = self._complete_list(field.plan, field.item_type, field.details, value, field_path)
        except Exception as error:
            self.handle_field_error(error, field.return_type, field.details, field_path)
            return None
        if completed.__class__ not in _NEVER_AWAITABLE and is_awaitable(completed):
            return self._guarded(completed, field.return_type, field.details, field_path)
        return completed

    @staticmethod
    def _leaf_list(field: FieldPlan, value: Any) -> Any:
        if type(value) not in (list, tuple):
            return _MISS
        serialise, exact, out = field.serialise, field.exact, []
        for item in value:
            if item is None:
                if field.item_non_null:
                    return _MISS
                out.append(None)
                continue
            if item.__class__ is exact:
                out.append(item)
                continue
            done = serialise(item)
            if done is _MISS:
                return _MISS
            out.append(done)
        return out

    def _complete_list(
        self, plan: ObjectPlan, item_type: GraphQLOutputType, details: list[FieldDetails], items: Sequence[Any],
        path: Path,
    ) -> Any:  # fmt: skip
        completed: list[Any] = []
        pending: list[int] = []
        is_awaitable = self.is_awaitable
        try:
            for index, item in enumerate(items):
                item_path = path.add_key(index, None)
                try:
                    value = self._complete_object(plan, item, item_path)
                except Exception as error:
                    self.handle_field_error(error, item_type, details, item_path)
                    value = None
                if value.__class__ not in _NEVER_AWAITABLE and is_awaitable(value):
                    value = self._guarded(value, item_type, details, item_path)
                    pending.append(index)
                completed.append(value)
        except Exception:
            if pending:
                self.settle_in_background([completed[index] for index in pending])
            raise
        if not pending:
            return completed

        async def awaited() -> list[Any]:
            if len(pending) == 1:
                completed[pending[0]] = await completed[pending[0]]
            else:
                for index, value in zip(
                    pending, await gather_with_cancel(*(completed[i] for i in pending)), strict=True
                ):
                    completed[index] = value
            return completed

        return awaited()

    async def _guarded(
        self, completing: Awaitable[Any], return_type: GraphQLOutputType, details: list[FieldDetails], path: Path
    ) -> Any:
        """An awaited completion whose error is handled where graphql-core handles it: at this field or item."""
        try:
            return await completing
        except Exception as error:
            self.handle_field_error(error, return_type, details, path)
            return None
