"""Where each fact of the registry comes from: quoted from a source document, or supplied here.

A row's `provenance` holds one entry per fact it covers: per language of `name` (as_written / normalized /
translation), per date (`established`, `since`, `until`: stated / inferred, an inferred one with the source
sentence it is inferred from), per classification (`kind`, `parent`, a membership's `relation`: editorial).
An admin's edit of a fact replaces its entry by `edited`, naming the audit entry that records the edit.
"""

from enum import StrEnum
from typing import Any


class Basis(StrEnum):
    as_written = "as_written"  # the source document's own words
    normalized = "normalized"  # the source's name, put by the transcriber in another grammatical form
    translation = "translation"  # supplied here: the source gives no such text
    stated = "stated"  # a date the source states
    inferred = "inferred"  # a date read from a sentence that does not state it as such
    editorial = "editorial"  # a classification made here (the service's own vocabulary)
    edited = "edited"  # set by an admin, see the audit entry


# The facts a row's provenance covers: its provenance key -> the column holding the fact.
INSTITUTION_FACTS = {"name": "name", "kind": "kind", "parent": "parent_id"}
ORGANIZATION_FACTS = {"name": "name", "kind": "kind", "parent": "parent_id", "established": "established"}
MEMBERSHIP_FACTS = {"relation": "relation", "since": "since", "until": "until"}


def edited(audit_entry_id: int) -> dict:
    return {"basis": Basis.edited.value, "audit_entry_id": audit_entry_id}


def _present(value: Any) -> bool:
    return value is not None and value != ""


def mark_edited(provenance: dict, facts: dict[str, str], before: dict | None, after: dict, audit_entry_id: int) -> dict:
    """The provenance after an admin write from `before` (None: a creation) to `after` (column values): each
    fact whose value the write gave or changed is `edited` by that audit entry; a fact removed has none."""
    result = dict(provenance)
    for key, column in facts.items():
        old, new = (before or {}).get(column), after.get(column)
        if key == "name":
            result[key] = _marked_languages(result.get(key) or {}, old or {}, new or {}, audit_entry_id)
        elif not _present(new):
            result.pop(key, None)
        elif before is None or old != new:
            result[key] = edited(audit_entry_id)
    return result


def _marked_languages(provenance: dict, old: dict, new: dict, audit_entry_id: int) -> dict:
    kept = {language for language in provenance if old.get(language) == new.get(language)}
    return {
        language: provenance[language] if language in kept else edited(audit_entry_id)
        for language, text in new.items()
        if _present(text)
    }


# The export's columns (one row per membership): the organisation's facts, then the membership's.
_ORGANIZATION_CELLS = (*(("name", language) for language in ("lv", "en", "lt", "original")), ("kind",), ("parent",))
_MEMBERSHIP_CELLS = (("relation",), ("since",), ("until",))
PROVENANCE_COLUMNS = ["_".join(path) + "_provenance" for path in (*_ORGANIZATION_CELLS, *_MEMBERSHIP_CELLS)]


def cell(entry: dict | None) -> str:
    """One fact's provenance in a CSV cell: its basis, an edit's audit entry, an inferred date's sentence."""
    if entry is None:
        return ""
    if entry["basis"] == Basis.edited:
        return f"edited:{entry['audit_entry_id']}"
    if entry["basis"] == Basis.inferred:
        return f"inferred: {entry['source_sentence']}"
    return entry["basis"]


def fact_at(facts: dict | None, path: tuple[str, ...]) -> dict | None:
    for key in path:
        facts = (facts or {}).get(key)
    return facts


def provenance_cells(organization: dict | None, membership: dict | None) -> list[str]:
    return [cell(fact_at(organization, path)) for path in _ORGANIZATION_CELLS] + [
        cell(fact_at(membership, path)) for path in _MEMBERSHIP_CELLS
    ]
