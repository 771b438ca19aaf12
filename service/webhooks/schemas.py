"""REST bodies of the webhook admin API."""

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.core.models import Rfc3339
from service.core.outbox import EVENT_TYPES
from service.webhooks.models import DeliveryState, SubscriptionStatus

EventType = StrEnum("EventType", {name: name for name in EVENT_TYPES})
"""What a webhook can subscribe to: `<kind>.<what happened>`, e.g. `measurement.posted`."""

URL_MAX = 2000


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=URL_MAX,
        description="Where events are POSTed; its host must be on the service's allow-list (WEBHOOK_ALLOWED_HOSTS).",
    )
    event_types: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    description: str | None = Field(None, max_length=500, description="Whose receiver this is, for the admins.")


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    status: SubscriptionStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    previous_secret_until: dt.datetime | None = Field(
        description="After a rotation, the old secret also signs (a second signature) until then."
    )


class WebhookWithSecret(WebhookOut):
    secret: str = Field(
        description="The signing secret (`whsec_…`, Standard Webhooks): shown in this answer only, keep it now."
    )


class AttemptOut(BaseModel):
    attempted_at: dt.datetime
    status_code: int | None = Field(description="The receiver's HTTP status; null when it did not answer.")
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: int
    event_id: uuid.UUID = Field(description="The `webhook-id` header: the same on every attempt and redelivery.")
    event_type: str
    occurred_at: dt.datetime
    state: DeliveryState
    attempts: int
    next_attempt_at: dt.datetime | None = Field(description="When it is tried next; null unless pending.")
    last_status: int | None
    delivered_at: dt.datetime | None
    log: list[AttemptOut] = Field(description="Its attempts, oldest first (the latest 50).")


class RedeliverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID | None = Field(None, description="Send this one event again.")
    since: Annotated[Rfc3339 | None, Field(description="Send again every event of the subscription's types "
                                           "that occurred at or after this moment.")] = None  # fmt: skip

    @model_validator(mode="after")
    def _one_of(self) -> "RedeliverIn":
        if (self.event_id is None) == (self.since is None):
            raise ValueError("give either event_id or since")
        return self


class RedeliverOut(BaseModel):
    queued: int = Field(description="Deliveries queued (again).")
