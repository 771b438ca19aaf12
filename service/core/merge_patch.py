"""JSON Merge Patch (RFC 7396) for admin edits: absent keeps, null removes, objects merge."""

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from service.core.errors import Problem

MEDIA_TYPE = "application/merge-patch+json"
M = TypeVar("M", bound=BaseModel)


def apply(target: Any, patch: Any) -> Any:
    """RFC 7396 section 2, as its pseudocode states it."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply(result.get(key), value)
    return result


def changes_of(patch: BaseModel) -> dict[str, Any]:
    """The merge patch a validated PATCH body stands for: the keys it gives, nulls included."""
    return patch.model_dump(mode="json", exclude_unset=True)


def merged(model: type[M], current: dict[str, Any], changes: dict[str, Any]) -> tuple[M, set[str]]:
    """The entity after the patch, validated as a whole, and the top-level fields the patch touches.

    `current` is the entity in its input shape; a patch that removes a required field is a 422 naming it.
    """
    try:
        return model.model_validate(apply(current, changes)), set(changes)
    except ValidationError as error:
        errors = [
            {
                "field": ".".join(map(str, e["loc"])) or "body",
                "message": "required; it cannot be removed" if e["type"] == "missing" else e["msg"],
            }
            for e in error.errors()
        ]
        raise Problem(422, "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors) from None


def document(openapi: dict[str, Any]) -> dict[str, Any]:
    """Every PATCH body is a merge patch: say so, beside plain `application/json`."""
    for operations in openapi.get("paths", {}).values():
        body = operations.get("patch", {}).get("requestBody")
        if body and "application/json" in body.get("content", {}):
            body["content"] = {MEDIA_TYPE: body["content"]["application/json"], **body["content"]}
            body["description"] = (
                "A JSON Merge Patch (RFC 7396): a field left out keeps its value, `null` removes it, "
                "an object (e.g. `name`) merges key by key, an array replaces the old one."
            )
    return openapi
