"""Conditional requests (RFC 9110 section 13): If-Match and If-None-Match against an entity's ETag."""

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Header

from service.core.errors import BadRequest, Problem, problem_responses

# At most this many entity-tags in one header: a client holds one version of a resource, rarely a few.
MAX_TAGS = 32
MAX_IF_MATCH = 4096
EXAMPLE = '"3f2a9c…"'
# One element of the list: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text
# (a comma inside the quotes belongs to the tag); the list syntax allows empty elements.
_ELEMENT = re.compile(r'[ \t]*(?:(W/)?("[\x21\x23-\x7e\x80-\xff]*"))?[ \t]*(,|$)')


@dataclass(frozen=True)
class EntityTag:
    tag: str  # with its quotes, as the ETag header carries it
    weak: bool = False


ANY = "*"

IfMatch = Annotated[
    str | None,
    Header(
        max_length=MAX_IF_MATCH,
        description="The ETag of your last read of this entity (428 without it, 412 when it changed since).",
    ),
]


def document(openapi: dict) -> dict:
    """An operation taking If-Match answers 412 and 428. An edit of an existing entity (PATCH, DELETE) needs it: the
    service checks that itself (428, not FastAPI's 422, when missing), so the contract says it is required. A POST
    of a measurement needs it only to correct a value that exists, so there it stays optional."""
    for operations in openapi.get("paths", {}).values():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "header" and parameter["name"].lower() == "if-match":
                    operation["responses"] |= {
                        str(code): response for code, response in problem_responses(412, 428).items()
                    }
                    parameter["required"] = method in ("patch", "put", "delete")
    return openapi


def parse(header: str, value: str) -> list[EntityTag] | str:
    """`*` or the list of entity-tags in an If-Match / If-None-Match value; 400 when it is not one."""
    if value.strip() == ANY:
        return ANY
    tags: list[EntityTag] = []
    position = 0
    while True:
        match = _ELEMENT.match(value, position)
        if match is None:
            raise BadRequest(
                f"{header} must be * or a comma-separated list of quoted entity-tags, e.g. {header}: {EXAMPLE} "
                "(the ETag header of your last read, quotes included)."
            )
        if match.group(2):
            tags.append(EntityTag(match.group(2), weak=match.group(1) is not None))
        if not match.group(3):  # the end of the value
            break
        position = match.end()
    if not tags:
        raise BadRequest(f"{header} is empty; send the ETag of your last read, e.g. {header}: {EXAMPLE}.")
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"{header} lists {len(tags)} entity-tags; at most {MAX_TAGS} are accepted.")
    return tags


def strong_match(tags: list[EntityTag], etag: str) -> bool:
    """If-Match's comparison: a weak tag never matches (RFC 9110 section 13.1.1)."""
    return any(not candidate.weak and candidate.tag == etag for candidate in tags)


def as_entity_tag(value: str) -> str:
    """A GraphQL argument may carry the ETag with or without its quotes."""
    stripped = value.strip()
    return stripped if stripped.startswith(('"', "W/")) or stripped == ANY else f'"{stripped}"'


def none_match(if_none_match: str | None, etag: str) -> bool:
    """True when the client already holds this representation (weak comparison, for a 304)."""
    if not if_none_match:
        return False
    tags = parse("If-None-Match", if_none_match)
    current = etag.removeprefix("W/")
    return tags == ANY or any(candidate.tag == current for candidate in tags)


def require_match(if_match: str | None, current_etag: str, *, what: str, allow_any: bool = True) -> None:
    """An edit goes ahead only when it names the version it was made against (strong comparison).

    Missing → 428, malformed → 400, `*` where `allow_any` is false → 428, any other version → 412.
    """
    if if_match is None:
        raise Problem(
            428,
            f"Editing the {what} needs the ETag of your last read of it, e.g. If-Match: {EXAMPLE} "
            "(GraphQL: the `ifMatch` argument), so that the edit cannot overwrite a change you have not seen.",
        )
    tags = parse("If-Match", if_match)
    if tags == ANY:
        if allow_any:
            return
        raise Problem(
            428,
            f"If-Match: * is not accepted for the {what}; send the ETag of the version you read, "
            f"e.g. If-Match: {EXAMPLE}.",
        )
    if not strong_match(tags, current_etag):
        raise Problem(
            412,
            f"The {what} changed since you read it (its ETag is no longer the one you sent). "
            "Read it again, apply your change to what you get, and send that ETag in If-Match.",
        )
