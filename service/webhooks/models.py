"""Webhook subscriptions, the deliveries the outbox queues for them, and every attempt to send one."""

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Identity, Index, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from service.core.models import Timestamped


class SubscriptionStatus(StrEnum):
    active = "active"
    paused = "paused"  # events still queue; nothing is sent until it is resumed


class DeliveryState(StrEnum):
    pending = "pending"
    delivered = "delivered"  # the receiver answered 2xx
    failed = "failed"  # no 2xx within the retry period; redelivery queues it again


class WebhookSubscription(Timestamped, table=True):
    __tablename__ = "webhook_subscription"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    event_types: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: SubscriptionStatus = Field(sa_column=Column(Text, nullable=False, server_default="active"))
    # Kept in the clear: HMAC signing needs the key itself. Never in an answer after the one that issued it,
    # never in the audit log.
    secret: str = Field(sa_column=Column(Text, nullable=False))
    # After a rotation the old secret signs too (a second signature) until then, so receivers can switch over.
    previous_secret: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    previous_secret_until: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class WebhookDelivery(SQLModel, table=True):
    """One event for one subscription, queued by the outbox trigger in the event's own transaction."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("webhook_delivery_event", "subscription_id", "event_seq", unique=True),
        # The dispatcher's claim: due pending deliveries in its order, and the earliest pending one of each key.
        Index("webhook_delivery_due", "next_attempt_at", "id", postgresql_where=text("state = 'pending'")),
        Index(
            "webhook_delivery_queue",
            "subscription_id",
            "ordering_key",
            "event_seq",
            postgresql_where=text("state = 'pending'"),
        ),  # fmt: skip
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True))
    subscription_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("webhook_subscription.id", ondelete="CASCADE"), nullable=False)
    )
    event_seq: int = Field(
        sa_column=Column(BigInteger, ForeignKey("outbox_event.seq", ondelete="CASCADE"), nullable=False)
    )
    ordering_key: str = Field(sa_column=Column(Text, nullable=False))
    state: DeliveryState = Field(sa_column=Column(Text, nullable=False, server_default="pending"))
    # When it was (last) queued: the retry period runs from here; a redelivery queues it again.
    queued_at: dt.datetime = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    next_attempt_at: dt.datetime = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    last_status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    delivered_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class WebhookAttempt(SQLModel, table=True):
    """The delivery log: one row per request sent (or refused before sending)."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (Index("webhook_attempt_delivery", "delivery_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True))
    delivery_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("webhook_delivery.id", ondelete="CASCADE"), nullable=False)
    )
    attempted_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))  # None: no answer
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # why, when not 2xx
    duration_ms: int = Field(sa_column=Column(Integer, nullable=False))
