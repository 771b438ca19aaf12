"""Bounded text in GraphQL arguments, checked on the validated document before anything executes.

GraphQL cannot state a string's length, so every String or ID an operation passes (as a literal or a
variable, inside input objects and lists too) is held to the `max_length(n)` declared beside its argument
or input field, else to `DEFAULT_MAX_LENGTH`; the SDL says the bound in the description. Mutation inputs
are then validated by the REST body models, whose (often smaller) bounds are the same as over REST.
"""

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    ArgumentNode,
    ASTValidationRule,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    get_nullable_type,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension

from service.core.errors import ErrorCode

# An id, a code, an acronym, a search text (REST: `q` at most 200): what a text holds unless it declares more.
DEFAULT_MAX_LENGTH = 200
_MAX_LENGTH = "max_length"


def max_length(characters: int) -> dict[str, Any]:
    """Argument or input-field metadata: this text holds at most `characters` characters."""
    return {_MAX_LENGTH: characters}


def at_most_characters(characters: int, description: str = "") -> str:
    return f"{description} At most {characters} characters.".strip()


def _declared(definition: Any) -> int:
    strawberry_definition = (definition.extensions or {}).get("strawberry-definition")
    return (getattr(strawberry_definition, "metadata", None) or {}).get(_MAX_LENGTH, DEFAULT_MAX_LENGTH)


def _too_long(value: Any, type_: Any, bound: int, path: str) -> Iterator[tuple[str, int, int]]:
    type_ = get_nullable_type(type_)
    if isinstance(type_, GraphQLList):
        for item in value if isinstance(value, list) else [value]:
            yield from _too_long(item, type_.of_type, bound, path)
    elif isinstance(type_, GraphQLInputObjectType):
        if isinstance(value, dict):
            for name, item in value.items():
                if name in type_.fields:
                    field = type_.fields[name]
                    yield from _too_long(item, field.type, _declared(field), f"{path}.{name}")
    elif isinstance(value, str) and len(value) > bound:
        yield path, bound, len(value)


def _rule(variables: Mapping[str, Any]) -> type[ASTValidationRule]:
    class TextBoundsRule(ASTValidationRule):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            argument = self.context.get_argument()
            if argument is None:
                return
            value = value_from_ast_untyped(node.value, variables)
            for path, bound, length in _too_long(value, argument.type, _declared(argument), node.name.value):
                self.report_error(
                    GraphQLError(
                        f"`{path}` holds at most {bound} characters; it has {length}.",
                        nodes=[node],
                        extensions={"code": ErrorCode.BAD_USER_INPUT, "field": path, "max_length": bound},
                    )
                )

    return TextBoundsRule


@lru_cache(maxsize=128)
def _rule_for(variables: str) -> type[ASTValidationRule]:
    # One rule per distinct variables: the same document with the same variables then finds its validation
    # in the validation cache (keyed on the rules too), and other variables are checked anew.
    return _rule(json.loads(variables))


class TextBounds(SchemaExtension):
    """Adds the text bounds to the validation rules: an operation with too long a text never executes."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        variables = json.dumps(context.variables or {}, sort_keys=True, default=str)
        context.validation_rules = (*context.validation_rules, _rule_for(variables))
        yield
