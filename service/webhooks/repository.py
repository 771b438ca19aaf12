"""All SQL of webhooks: subscriptions, the delivery log, redelivery, and the dispatcher's claim."""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.core.outbox import OutboxEvent
from service.webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookSubscription

LOG_PER_DELIVERY = 50


async def subscriptions(session: AsyncSession, *, after: uuid.UUID | None, limit: int) -> list[WebhookSubscription]:
    stmt = select(WebhookSubscription)
    if after is not None:
        stmt = stmt.where(WebhookSubscription.id > after)
    return list((await session.scalars(stmt.order_by(WebhookSubscription.id).limit(limit + 1))).all())


async def deliveries(
    session: AsyncSession, subscription_id: uuid.UUID, *, before: int | None, state: str | None, limit: int
) -> list[tuple[WebhookDelivery, OutboxEvent]]:
    """The subscription's deliveries, newest first."""
    stmt = (
        select(WebhookDelivery, OutboxEvent)
        .join(OutboxEvent, OutboxEvent.seq == WebhookDelivery.event_seq)
        .where(WebhookDelivery.subscription_id == subscription_id)
    )
    if before is not None:
        stmt = stmt.where(WebhookDelivery.id < before)
    if state is not None:
        stmt = stmt.where(WebhookDelivery.state == state)
    rows = await session.execute(stmt.order_by(WebhookDelivery.id.desc()).limit(limit + 1))
    return [(delivery, event) for delivery, event in rows.all()]


async def attempts(session: AsyncSession, delivery_ids: Sequence[int]) -> dict[int, list[WebhookAttempt]]:
    """The latest LOG_PER_DELIVERY attempts of each delivery, oldest first."""
    latest_first = func.row_number().over(partition_by=WebhookAttempt.delivery_id, order_by=WebhookAttempt.id.desc())
    ranked = (
        select(WebhookAttempt, latest_first.label("rank"))
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .subquery()
    )
    attempt = aliased(WebhookAttempt, ranked)
    stmt = select(attempt).where(ranked.c.rank <= LOG_PER_DELIVERY).order_by(ranked.c.id)
    by_delivery: dict[int, list[WebhookAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    for row in (await session.scalars(stmt)).all():
        by_delivery[row.delivery_id].append(row)
    return by_delivery


_REQUEUE = """
INSERT INTO webhook_delivery (subscription_id, event_seq, ordering_key)
SELECT :subscription_id, e.seq, e.ordering_key FROM outbox_event e
WHERE e.type = ANY (:event_types) AND {condition}
ON CONFLICT (subscription_id, event_seq) DO UPDATE
    SET state = 'pending', queued_at = now(), next_attempt_at = now()
"""


async def requeue_event(session: AsyncSession, subscription: WebhookSubscription, event_id: uuid.UUID) -> int:
    """Queue one event again for the subscription (or for the first time, if it came before the subscription)."""
    params = {"subscription_id": subscription.id, "event_types": subscription.event_types, "event_id": event_id}
    return (await session.execute(text(_REQUEUE.format(condition="e.id = :event_id")), params)).rowcount


async def requeue_since(session: AsyncSession, subscription: WebhookSubscription, since: dt.datetime) -> int:
    params = {"subscription_id": subscription.id, "event_types": subscription.event_types, "since": since}
    return (await session.execute(text(_REQUEUE.format(condition="e.occurred_at >= :since")), params)).rowcount


@dataclass(frozen=True)
class Claimed:
    """A delivery a dispatcher holds (row-locked) while it sends it."""

    delivery_id: int
    queued_at: dt.datetime
    attempts: int
    first_attempted_at: dt.datetime | None  # None before its first attempt
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_until: dt.datetime | None
    event_id: uuid.UUID
    event_type: str
    occurred_at: dt.datetime
    data: dict


# The due pending deliveries of active subscriptions that are the earliest pending one of their ordering key, locked
# for this transaction; rows another dispatcher holds are skipped. A later event of a key waits while an earlier one
# is pending, even while another dispatcher holds it (still pending until that one commits): in order per entity.
# The candidates are picked from webhook_delivery alone, walking webhook_delivery_due in its order until the limit,
# and joined to their subscription and event after it: so a round costs the batch, not the queue. The active
# subscriptions come as an array, not a join, because their table is too small ever to be analysed, and a join to it
# estimated from no statistics makes the planner read and sort every due delivery instead (30 ms at 5000).
_CLAIM = """
WITH claimed AS (
    SELECT d.id FROM webhook_delivery d
    WHERE d.state = 'pending' AND d.next_attempt_at <= now()
      AND d.subscription_id = ANY (ARRAY(SELECT s.id FROM webhook_subscription s WHERE s.status = 'active'))
      AND NOT EXISTS (
          SELECT 1 FROM webhook_delivery earlier
          WHERE earlier.subscription_id = d.subscription_id AND earlier.ordering_key = d.ordering_key
            AND earlier.state = 'pending' AND earlier.event_seq < d.event_seq
      )
    ORDER BY d.next_attempt_at, d.id
    LIMIT :limit
    FOR UPDATE OF d SKIP LOCKED
)
SELECT d.id, d.queued_at, d.attempts,
       CASE WHEN d.attempts > 0 THEN (SELECT a.attempted_at FROM webhook_attempt a WHERE a.delivery_id = d.id
                                      ORDER BY a.id LIMIT 1) END AS first_attempted_at,
       s.url, s.secret, s.previous_secret, s.previous_secret_until,
       e.id AS event_id, e.type, e.occurred_at, e.data
FROM claimed JOIN webhook_delivery d USING (id)
JOIN webhook_subscription s ON s.id = d.subscription_id
JOIN outbox_event e ON e.seq = d.event_seq
"""


async def claim(session: AsyncSession, limit: int) -> list[Claimed]:
    rows = await session.execute(text(_CLAIM), {"limit": limit})
    return [Claimed(*row) for row in rows.all()]


@dataclass(frozen=True)
class Attempted:
    """What one attempt of a claimed delivery came to, and the state it leaves the delivery in."""

    delivery_id: int
    attempted_at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    state: DeliveryState
    next_attempt_at: dt.datetime | None  # when it is still pending


_RECORD_ATTEMPTS = """
WITH attempted AS (
    SELECT * FROM unnest(:delivery_ids ::bigint[], :attempted_at ::timestamptz[], :status_codes ::int[],
                         :errors ::text[], :durations ::int[], :states ::text[], :next_attempt_at ::timestamptz[])
        AS a (id, attempted_at, status_code, error, duration_ms, state, next_attempt_at)
), logged AS (
    INSERT INTO webhook_attempt (delivery_id, attempted_at, status_code, error, duration_ms)
    SELECT id, attempted_at, status_code, error, duration_ms FROM attempted
)
UPDATE webhook_delivery d
SET state = a.state, attempts = d.attempts + 1, last_status = a.status_code,
    delivered_at = CASE WHEN a.state = 'delivered' THEN a.attempted_at ELSE d.delivered_at END,
    next_attempt_at = coalesce(a.next_attempt_at, d.next_attempt_at)
FROM attempted a
WHERE d.id = a.id
RETURNING a.state <> 'pending' AND EXISTS (
    SELECT 1 FROM webhook_delivery later
    WHERE later.subscription_id = d.subscription_id AND later.ordering_key = d.ordering_key
      AND later.state = 'pending' AND later.event_seq > d.event_seq
)
"""


async def record_attempts(session: AsyncSession, attempted: Sequence[Attempted]) -> bool:
    """Log a round's attempts and settle their deliveries, in one statement whatever the round's size; whether a
    delivery settled for good has a later one of its key pending, which it no longer holds back."""
    params = {
        "delivery_ids": [a.delivery_id for a in attempted],
        "attempted_at": [a.attempted_at for a in attempted],
        "status_codes": [a.status_code for a in attempted],
        "errors": [a.error for a in attempted],
        "durations": [a.duration_ms for a in attempted],
        "states": [a.state.value for a in attempted],
        "next_attempt_at": [a.next_attempt_at for a in attempted],
    }
    return any((await session.scalars(text(_RECORD_ATTEMPTS), params)).all())


# The deliveries that were not yet due when this transaction's claim ran (now() is its start): those due then and not
# claimed are held by another dispatcher, wait behind an earlier one of their key (which the dispatcher that settles
# it claims next: `record_attempts` tells it) or for their subscription to be resumed (a journaled change, which
# notifies). Measured from statement_timestamp(): at the end of a round, after its requests went, this can be <= 0.
_SECONDS_TO_NEXT_RETRY = """
SELECT extract(epoch FROM min(next_attempt_at) - statement_timestamp()) FROM webhook_delivery
WHERE state = 'pending' AND next_attempt_at > now()
"""


async def seconds_to_next_retry(session: AsyncSession) -> float | None:
    """How long until the earliest pending delivery that waits for its retry is due (<= 0: it is); None when none
    waits."""
    seconds = await session.scalar(text(_SECONDS_TO_NEXT_RETRY))
    return None if seconds is None else float(seconds)
