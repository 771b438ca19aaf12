"""What FastAPI's generated OpenAPI document does not state by itself: the bounds the code enforces, and the
descriptions the GraphQL schema already gives the same things."""

from collections.abc import Collection, Mapping
from typing import Any

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, GraphQLSchema

INT32 = (-(2**31), 2**31 - 1)
# A UUID as text, 8-4-4-4-12 hex digits; the UUID parser refuses anything that is not one.
UUID_TEXT_MAX = 36


def _document_bounds(node: dict[str, Any]) -> None:
    if node.get("type") == "integer" and "format" not in node:
        low, high = node.get("minimum"), node.get("maximum")
        fits = low is not None and high is not None and INT32[0] <= low and high <= INT32[1]
        node["format"] = "int32" if fits else "int64"
    elif node.get("type") == "string" and node.get("format") == "uuid":
        node.setdefault("maxLength", UUID_TEXT_MAX)


def document_implicit_bounds(openapi: dict[str, Any], max_body_bytes: int) -> dict[str, Any]:
    """Each integer says `int32` when its bounds fit one (every bounded one does), else `int64`; each UUID
    its length; a body sent as text (a CSV upload) the body limit, which holds at most that many characters."""
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                schema = media.get("schema", {})
                for field in (schema, *schema.get("properties", {}).values()):  # a form's file field too
                    if field.get("type") == "string":
                        field.setdefault("maxLength", max_body_bytes)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            _document_bounds(node)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(openapi)
    return openapi


# A REST schema's GraphQL twin by name: `OrganizationOut`, `OrganizationDetail`, `OrganizationRef` →
# `Organization`; `OrganizationIn` → `OrganizationInput`; `OrganizationPatch` → `OrganizationPatchInput`.
_TWIN_SUFFIXES = (("Out", ""), ("Detail", ""), ("Ref", ""), ("In", "Input"), ("Patch", "PatchInput"))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _twin_name(component: str, graphql: GraphQLSchema, twins: Mapping[str, str]) -> str | None:
    if component in twins:
        return twins[component]
    candidates = [component] + [
        component.removesuffix(suffix) + replacement
        for suffix, replacement in _TWIN_SUFFIXES
        if component.endswith(suffix) and component != suffix
    ]
    return next((name for name in candidates if name in graphql.type_map), None)


def _enum_description(enum: GraphQLEnumType) -> str | None:
    values = "; ".join(
        f"`{getattr(value.value, 'value', value.value)}`: {value.description.rstrip('.')}"
        for value in enum.values.values()
        if value.description
    )
    return " ".join(part for part in (enum.description, values and f"Values: {values}.") if part) or None


def share_descriptions(
    openapi: dict[str, Any], graphql: GraphQLSchema, twins: Mapping[str, str], own: Collection[str] = ()
) -> list[str]:
    """Describe each REST schema and property that shows what a GraphQL type or field shows with the GraphQL
    description, so each is written once (in the GraphQL types, where the schema linter requires every one).
    A property is the twin field of the same name in camelCase; a REST `id` is GraphQL's `rowId`; those in `own`
    (`Schema.property`) show something else and keep their own description. Returns the
    properties that carry a description of their own too: a second copy, to remove."""
    copies = []
    for component, schema in openapi.get("components", {}).get("schemas", {}).items():
        twin = graphql.type_map.get(_twin_name(component, graphql, twins) or "")
        if isinstance(twin, GraphQLEnumType):
            if description := _enum_description(twin):
                schema["description"] = description
            continue
        if not isinstance(twin, GraphQLObjectType | GraphQLInputObjectType):
            continue
        # An input's GraphQL description speaks of GraphQL's own arguments (`ifMatch`): REST's body keeps its own.
        if isinstance(twin, GraphQLObjectType) and twin.description and "description" not in schema:
            schema["description"] = twin.description
        for name, property_schema in schema.get("properties", {}).items():
            if f"{component}.{name}" in own:
                continue
            field = twin.fields.get("rowId" if name == "id" else _camel(name))
            if field is None or not field.description:
                continue
            if "description" in property_schema:
                copies.append(f"{component}.{name}")
            property_schema["description"] = field.description
    return copies
