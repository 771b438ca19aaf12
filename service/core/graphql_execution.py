"""GraphQL execution with a compiled completion of plain objects.

graphql-core completes every field of an answer through the same general steps: a path, a resolve info, the
resolver, the type checks of `complete_value`, the leaf's coercion. For a field that only reads an attribute of an
object already loaded, that generality is nearly the whole cost of the answer. This executor compiles, once per
object type and field nodes of a (cached) document, a plan of the sub-selection: a plain attribute (a Strawberry
field without resolver or arguments) is read and serialised directly, `__typename` is a constant, and every other
field goes through graphql-core's own `execute_field` with its path. Whatever the plan does not expect (a null for
a non-null field, a value a leaf cannot take, an awaitable) is handed to `execute_field` too, before anything of
it was completed, so errors, their paths and the nulls they cause are exactly graphql-core's.

Each object plan is then generated as Python source, once (as dataclasses generate `__init__`): one function
reading the plan's attributes in order, with the leaves' checks written out per field, so that completing a field
of the bulk of an answer costs an attribute read, a class test and a dict store, not a loop over field plans.

The plan is used only where collecting the sub-fields does not depend on the request: a selection with a
directive (`@skip`, `@include`, …), an abstract type, an object type with its own `is_type_of`, field middleware
(a Strawberry extension's `resolve`) or incremental delivery take graphql-core's path. A type that implements
an interface (a Relay `Node`) gets Strawberry's `is_type_of`, an `isinstance` check: its plan is used for objects of
exactly its class, which that check accepts, and anything else takes graphql-core's path, which makes it.
"""

import keyword
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
    __slots__ = ("complete", "exact_class", "fields", "object_type", "type_name")

    def __init__(self, object_type: GraphQLObjectType, exact_class: type | None) -> None:
        self.object_type = object_type
        self.type_name = object_type.name
        self.fields: list[FieldPlan] = []
        self.exact_class = exact_class  # the only class the plan completes, where the type checks `is_type_of`
        # (context, source, path) -> the completed dict, or an awaitable of it; set once the fields are: `_generated`
        self.complete: Callable[[Any, Any, Path | None], Any]


# The test that a leaf's value is its own output, written out in the generated source (`value` is not None).
_EXACT_TEST = {
    GraphQLString.name: "value.__class__ is str",
    GraphQLID.name: "value.__class__ is str",
    GraphQLBoolean.name: "value.__class__ is bool",
    GraphQLInt.name: f"value.__class__ is int and {_INT_MIN} <= value <= {_INT_MAX}",
    GraphQLFloat.name: "value.__class__ is float and isfinite(value)",
}


def _generated(plan: ObjectPlan) -> Callable[[Any, Any, Path | None], Any]:
    """The plan's completion as one generated function: per field, in order, the common case written out (a leaf
    its test takes, a Strawberry object or a list of them, a list of leaves), handing the rest to the context's
    methods exactly as graphql-core would meet it (`_execute`, or `_complete_attribute` for an attribute)."""
    namespace: dict[str, Any] = {
        "MISS": _MISS, "isfinite": math.isfinite, "Path": Path, "PLAIN": _PLAIN_CLASSES, "PLAN": plan,
        "TYPE_NAME": plan.type_name, "leaf_list": PlannedExecutionContext._leaf_list,
    }  # fmt: skip
    body: list[str] = []
    for index, field in enumerate(plan.fields):
        name, of = f"N{index}", f"F{index}"
        namespace[name], namespace[of] = field.name, field
        executed = f"pending = context._store(results, pending, {name}, context._execute(PLAN, {of}, source, path))"
        attribute = (
            f"pending = context._store(results, pending, {name}, context._complete_attribute(PLAN, {of}, source, path))"
        )
        null = [f"    results[{name}] = None"] if not field.non_null else [f"    {executed}"]
        if field.kind == TYPENAME:
            body.append(f"results[{name}] = TYPE_NAME")
        elif field.kind == DELEGATE:
            body.append(executed)
        elif field.kind == LEAF:
            namespace[f"S{index}"] = field.serialise
            leaf = _unwrapped(field.return_type)[0]
            exact = _EXACT_TEST.get(leaf.name) if leaf in _BUILT_IN else None
            body += [f"value = source.{field.python_name}", "if value is None:", *null]
            if exact is not None:
                body += [f"elif {exact}:", f"    results[{name}] = value"]
            body += [f"elif (done := S{index}(value)) is not MISS:", f"    results[{name}] = done"]
            body += ["else:", f"    {executed}"]
        elif field.kind == LEAF_LIST:
            body += [f"value = source.{field.python_name}"]
            body += [f"if value.__class__ is list and (done := leaf_list({of}, value)) is not MISS:"]
            body += [f"    results[{name}] = done", "elif value is None:", *null, "else:", f"    {attribute}"]
        else:
            namespace[f"C{index}"] = field.plan.complete  # type: ignore[union-attr]
            namespace[f"E{index}"] = field.plan.exact_class  # type: ignore[union-attr]
            if field.kind == OBJECT:
                exact_class = field.plan.exact_class  # type: ignore[union-attr]
                test, done = (f"value.__class__ is E{index}" if exact_class else "value.__class__ in PLAIN"), "dict"
                complete = f"value = C{index}(context, value, field_path)"
            else:
                test = f"value.__class__ is list and (not value or context._plain_items(value, E{index}))"
                done = "list"
                complete = f"value = context._complete_list({of}.plan, {of}.item_type, {of}.details, value, field_path)"
            body += [f"value = source.{field.python_name}", f"if {test}:"]
            body += [
                f"    field_path = Path(path, {name}, TYPE_NAME)",
                "    try:",
                f"        {complete}",
                "    except Exception as error:",
                f"        context.handle_field_error(error, {of}.return_type, {of}.details, field_path)",
                "        value = None",
                f"    if value is None or value.__class__ is {done}:",
                f"        results[{name}] = value",
                "    else:",
                f"        guarded = context._guarded(value, {of}.return_type, {of}.details, field_path)",
                f"        pending = context._store(results, pending, {name}, guarded)",
                "elif value is None:",
                *null,
                "else:",
                f"    {attribute}",
            ]
    lines = [
        "def complete(context, source, path):",
        "    results = {}",
        "    pending = None",
        "    try:",
        *(f"        {line}" for line in body or ["pass"]),
        "    except Exception:",
        "        if pending:",
        "            context.settle_in_background([results[name] for name in pending])",
        "        raise",
        "    if pending is None:",
        "        return results",
        "    return context._awaited_object(results, pending)",
    ]
    code = compile("\n".join(lines) + "\n", f"<graphql plan of {plan.type_name}>", "exec")
    exec(code, namespace)  # the source is built above from the schema's own names, never from a request
    return namespace["complete"]


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
    name = definition.python_name
    return name if name.isidentifier() and not keyword.iskeyword(name) else None  # written out as `source.name`


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
        plan.complete = _generated(plan)
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
                return plan.complete(self, result, path)
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

    def _store(self, results: dict[str, Any], pending: list[str] | None, name: str, value: Any) -> list[str] | None:
        """A field's completed value into the answer, and its name into `pending` when it is still awaitable."""
        if value is Undefined:
            return pending
        results[name] = value
        if value.__class__ not in _NEVER_AWAITABLE and self.is_awaitable(value):
            if pending is None:
                pending = []
            pending.append(name)
        return pending

    async def _awaited_object(self, results: dict[str, Any], pending: list[str]) -> dict[str, Any]:
        if len(pending) == 1:
            results[pending[0]] = await results[pending[0]]
        else:
            results.update(zip(pending, await gather_with_cancel(*(results[n] for n in pending)), strict=True))
        return results

    def _complete_attribute(self, plan: ObjectPlan, field: FieldPlan, source: Any, path: Path | None) -> Any:
        value = getattr(source, field.python_name)
        if value is None:
            return self._execute(plan, field, source, path) if field.non_null else None
        kind = field.kind
        if kind == LEAF_LIST:
            done = self._leaf_list(field, value)
            return self._execute(plan, field, source, path) if done is _MISS else done
        is_awaitable, value_class = self.is_awaitable, value.__class__
        if (
            value_class not in _NEVER_AWAITABLE
            and value_class not in _PLAIN_CLASSES
            and (isinstance(value, Exception) or is_awaitable(value))
        ):
            return self._execute(plan, field, source, path)
        exact_class = field.plan.exact_class  # type: ignore[union-attr]  # an object's plan
        if kind == OBJECT_LIST and not (value_class in (list, tuple) and self._plain_items(value, exact_class)):
            return self._execute(plan, field, source, path)
        if kind == OBJECT and exact_class is not None and value_class is not exact_class:
            return self._execute(plan, field, source, path)
        if kind == OBJECT and hasattr(value_class, "__strawberry_definition__"):
            _PLAIN_CLASSES.add(value_class)  # then the generated completion takes the next one itself
        field_path = Path(path, field.name, plan.type_name)
        try:
            if kind == OBJECT:
                completed = field.plan.complete(self, value, field_path)
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
        is_awaitable, complete = self.is_awaitable, plan.complete
        try:
            for index, item in enumerate(items):
                item_path = path.add_key(index, None)
                try:
                    value = complete(self, item, item_path)
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
