"""The webhook dispatcher, `python -m service deliver`: sends the deliveries the outbox queued, signed.

Each round claims due deliveries with `FOR UPDATE SKIP LOCKED` and keeps them locked while it sends them, then
records every attempt and commits. Several dispatchers can run: a locked delivery is skipped by the others, so no
attempt is made twice at once. One that dies mid-round (even SIGKILL) loses its connection, its transaction rolls
back and what it held is due again: delivery is at least once, and the receiver de-duplicates by `webhook-id`.
A delivery waits while an earlier one of its ordering key (core/outbox.py) is pending: in order per entity.
"""

import asyncio
import datetime as dt
import json
import logging
import random
import signal
import time
from contextlib import suppress
from dataclasses import dataclass

import httpx
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker
from standardwebhooks.webhooks import Webhook

from service.core.db import create_engine, create_sessionmaker
from service.settings import Settings
from service.webhooks import repository
from service.webhooks.models import DeliveryState
from service.webhooks.service import target_refusal

log = logging.getLogger(__name__)

RESPONSE_EXCERPT_BYTES = 1024  # of a receiver's answer: read no more, keep it for the log when it is not 2xx
ERROR_MAX = 300
USER_AGENT = "interior-service-webhooks/1"


def backoff_s(failed_attempts: int, settings: Settings, draw=random.random) -> float:
    """Wait after this many failed attempts: doubling from the base up to the maximum, with jitter (a random half
    of it), so that receivers coming back are not hit by every queued retry at the same moment."""
    ceiling = min(settings.webhook_backoff_max_s, settings.webhook_backoff_base_s * 2 ** min(failed_attempts - 1, 62))
    return ceiling / 2 + draw() * ceiling / 2


def body_of(delivery: repository.Claimed) -> str:
    """The Standard Webhooks payload: type, when it happened, and the change."""
    payload = {"type": delivery.event_type, "timestamp": delivery.occurred_at.isoformat(), "data": delivery.data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def signed_headers(delivery: repository.Claimed, body: str, now: dt.datetime) -> dict[str, str]:
    message_id = str(delivery.event_id)
    signatures = [Webhook(delivery.secret).sign(message_id, now, body)]
    if delivery.previous_secret and delivery.previous_secret_until and now < delivery.previous_secret_until:
        signatures.append(Webhook(delivery.previous_secret).sign(message_id, now, body))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


@dataclass(frozen=True)
class Outcome:
    attempted_at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: int


async def _excerpt(response: httpx.Response) -> str:
    read = b""
    async for chunk in response.aiter_bytes():
        read += chunk
        if len(read) >= RESPONSE_EXCERPT_BYTES:
            break
    return read[:RESPONSE_EXCERPT_BYTES].decode(errors="replace")


async def send(client: httpx.AsyncClient, delivery: repository.Claimed, settings: Settings) -> Outcome:
    now = dt.datetime.now(dt.UTC)
    if refusal := target_refusal(delivery.url, settings):  # the allow-list may have changed since registration
        return Outcome(now, None, refusal[:ERROR_MAX], 0)
    body = body_of(delivery)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(settings.webhook_timeout_s):
            request = client.stream(
                "POST", delivery.url, content=body.encode(), headers=signed_headers(delivery, body, now)
            )
            async with request as response:
                excerpt = await _excerpt(response)
    except (httpx.HTTPError, TimeoutError) as error:
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return Outcome(now, None, reason[:ERROR_MAX], round((time.perf_counter() - started) * 1000))
    duration_ms = round((time.perf_counter() - started) * 1000)
    if 200 <= response.status_code < 300:
        return Outcome(now, response.status_code, None, duration_ms)
    return Outcome(now, response.status_code, f"HTTP {response.status_code}: {excerpt}"[:ERROR_MAX], duration_ms)


def settled(delivery: repository.Claimed, outcome: Outcome, settings: Settings) -> repository.Attempted:
    """Delivered on a 2xx; else tried again after the backoff, until the retry period from its queuing is over."""
    state, next_attempt_at = DeliveryState.delivered, None
    if outcome.error is not None:
        give_up_at = delivery.queued_at + dt.timedelta(seconds=settings.webhook_retry_for_s)
        if outcome.attempted_at >= give_up_at:
            state = DeliveryState.failed
            log.warning("webhook delivery %s failed for good: %s", delivery.delivery_id, outcome.error)
        else:
            state = DeliveryState.pending
            wait = dt.timedelta(seconds=backoff_s(delivery.attempts + 1, settings))
            next_attempt_at = min(outcome.attempted_at + wait, give_up_at)  # the last try is at the end of the period
    return repository.Attempted(
        delivery_id=delivery.delivery_id,
        attempted_at=outcome.attempted_at,
        status_code=outcome.status_code,
        error=outcome.error,
        duration_ms=outcome.duration_ms,
        state=state,
        next_attempt_at=next_attempt_at,
    )


async def deliver_due(sessionmaker: async_sessionmaker, client: httpx.AsyncClient, settings: Settings) -> int:
    """One round: claim, send (concurrently), record; how many were attempted."""
    async with sessionmaker() as session:
        claimed = await repository.claim(session, settings.webhook_batch_size)
        if not claimed:
            await session.rollback()
            return 0
        # As many at once as the client has connections, so no request's time limit runs while it waits for one.
        gate = asyncio.Semaphore(settings.webhook_connections)

        async def gated(delivery: repository.Claimed) -> Outcome:
            async with gate:
                return await send(client, delivery, settings)

        outcomes = await asyncio.gather(*(gated(delivery) for delivery in claimed))
        attempted = [settled(d, outcome, settings) for d, outcome in zip(claimed, outcomes, strict=True)]
        await repository.record_attempts(session, attempted)
        await session.commit()
    return len(claimed)


async def dispatch(settings: Settings, stop: asyncio.Event) -> None:
    """Deliver until `stop` is set; the round under way finishes first."""
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    connections = settings.webhook_connections
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    # trust_env=False: no proxy from the environment stands between the allow-list and the request.
    client = httpx.AsyncClient(
        follow_redirects=False, trust_env=False, timeout=settings.webhook_timeout_s, limits=limits
    )
    log.info("webhook dispatcher started")
    try:
        async with client:
            while not stop.is_set():
                try:
                    attempted = await deliver_due(sessionmaker, client, settings)
                except (DBAPIError, OSError) as error:
                    log.warning("webhook dispatcher cannot reach the database, retrying: %s", str(error)[:200])
                    attempted = 0
                if not attempted:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), settings.webhook_poll_interval_s)
    finally:
        await engine.dispose()
        log.info("webhook dispatcher stopped")


def run(settings: Settings) -> None:
    """`python -m service deliver`: SIGTERM or SIGINT stops it after the round under way."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stopping in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stopping, stop.set)
        await dispatch(settings, stop)

    asyncio.run(main())
