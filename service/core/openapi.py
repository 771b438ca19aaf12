"""Bounds the code enforces that FastAPI's generated OpenAPI document does not state."""

from typing import Any

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
