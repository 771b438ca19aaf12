"""The transactional outbox: the event an integrator can subscribe to, written by the journal with each change.

`journal.record` adds the event in the transaction of the change it describes, so a committed change always has
its event and a rolled-back one never had one. A database trigger (migration 0009_webhooks) queues a delivery of
each new event to every webhook subscribed to its type in the same statement; `service/webhooks` sends them.
"""

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Identity, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

_REGISTRY_ELEMENTS = ("engagement", "representation", "representation_organization")
_STRATEGY_ELEMENTS = (
    "strategy", "footnote", "swot_factor", "policy_area", "goal", "goal_institution", "indicator", "indicator_value",
    "action_direction", "task", "task_institution",
)  # fmt: skip
# The kind of event a journaled entity's changes are; an entity not named here (admin plumbing) has none.
EVENT_KINDS: dict[str, str] = {
    "organization": "organization",
    "membership": "membership",
    "institution": "institution",
    **dict.fromkeys(_REGISTRY_ELEMENTS, "registry_element"),
    **dict.fromkeys(_STRATEGY_ELEMENTS, "strategy_element"),
    "measurement": "measurement",
    "progress_assessment": "assessment",
    "reporting_period": "reporting_year",
}
_VERBS = {"create": "created", "update": "updated", "delete": "deleted"}
# A measurement is never updated: each post is a revision, and review sets its status.
_MEASUREMENT_VERBS = {"create": "posted", "correct": "corrected", "approve": "approved", "return": "returned"}
_ASSESSMENT_VERBS = {"assess": "set"}
# A reporting year's dates set, the year closed (its figures adopted) or reopened.
_REPORTING_VERBS = {"schedule": "scheduled", "close": "closed", "reopen": "reopened"}

_OWN_VERBS = {"measurement": _MEASUREMENT_VERBS, "assessment": _ASSESSMENT_VERBS, "reporting_year": _REPORTING_VERBS}

EVENT_TYPES: tuple[str, ...] = (
    *(f"{kind}.{verb}" for kind in dict.fromkeys(EVENT_KINDS.values()) if kind not in _OWN_VERBS
      for verb in _VERBS.values()),
    *(f"{kind}.{verb}" for kind, verbs in _OWN_VERBS.items() for verb in verbs.values()),
)  # fmt: skip


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_event"

    seq: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True))
    id: uuid.UUID = Field(default_factory=uuid.uuid4, unique=True)  # the `webhook-id` receivers de-duplicate by
    xact: int = Field(
        default=None,
        sa_column=Column(BigInteger, server_default=text("(pg_current_xact_id()::text::bigint)"), nullable=False),
    )
    occurred_at: dt.datetime = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    type: str = Field(sa_column=Column(Text, nullable=False))
    # Deliveries of one key go out in order: an entity's own changes, or its parent's (a measurement's indicator,
    # a membership's organisation), which the same locks serialise, so `seq` order is their commit order.
    ordering_key: str = Field(sa_column=Column(Text, nullable=False))
    data: dict = Field(sa_column=Column(JSONB, nullable=False))


def event_type(entity: str, action: str) -> str | None:
    kind = EVENT_KINDS.get(entity)
    verbs = _OWN_VERBS.get(kind or "", _VERBS)
    verb = verbs.get(action)
    return f"{kind}.{verb}" if kind and verb else None


def event(
    entity: str,
    action: str,
    entity_id: str,
    parent: tuple[str, str] | None,
    before: dict | None,
    after: dict | None,
) -> OutboxEvent | None:
    """The event of one journaled change, or None for a change no one can subscribe to."""
    kind = event_type(entity, action)
    if kind is None:
        return None
    data: dict[str, Any] = {"entity": entity, "id": entity_id, "action": action}
    if parent:
        data["parent"] = {"entity": parent[0], "id": parent[1]}
    data["object"] = before if action == "delete" else after  # a deletion's is the last state
    ordering = f"{parent[0]}:{parent[1]}" if parent else f"{entity}:{entity_id}"
    return OutboxEvent(type=kind, ordering_key=ordering, data=data)
