"""The webhook dispatcher, `python -m service deliver`: sends the deliveries the outbox queued, signed.

Each round claims due deliveries with `FOR UPDATE SKIP LOCKED` and keeps them locked while it sends them, then
records every attempt and commits. Several dispatchers can run: a locked delivery is skipped by the others, so no
attempt is made twice at once. One that dies mid-round (even SIGKILL) loses its connection, its transaction rolls
back and what it held is due again: delivery is at least once, and the receiver de-duplicates by `webhook-id`.
A delivery waits while an earlier one of its ordering key (core/outbox.py) is pending: in order per entity.

An idle dispatcher sleeps until a journaled change commits (the journal's NOTIFY, core/live.py), the earliest retry
is due, or at most `webhook_poll_interval_s`: a committed write is sent at once, without a poll's wait.
"""

import asyncio
import datetime as dt
import json
import logging
import random
import signal
import socket
import time
from dataclasses import dataclass

import aiohttp
import aiohttp.abc
import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker
from standardwebhooks.webhooks import Webhook

from service.core import outbox
from service.core.db import create_engine, create_sessionmaker
from service.core.journal import Signal
from service.core.live import ChangeListener
from service.settings import Settings
from service.webhooks import repository
from service.webhooks.models import DeliveryState
from service.webhooks.service import ENTITY, reachable_address, target_refusal

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


async def _excerpt(response: aiohttp.ClientResponse) -> str:
    read = b""
    while len(read) < RESPONSE_EXCERPT_BYTES:
        if not (chunk := await response.content.read(RESPONSE_EXCERPT_BYTES - len(read))):
            break
        read += chunk
    return read.decode(errors="replace")


async def send(client: aiohttp.ClientSession, delivery: repository.Claimed, settings: Settings) -> Outcome:
    now = dt.datetime.now(dt.UTC)
    if refusal := target_refusal(delivery.url, settings):  # the allow-list may have changed since registration
        return Outcome(now, None, refusal[:ERROR_MAX], 0)
    body = body_of(delivery)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(settings.webhook_timeout_s):
            request = client.post(
                delivery.url, data=body.encode(), headers=signed_headers(delivery, body, now), allow_redirects=False
            )
            async with request as response:
                excerpt = await _excerpt(response)
    except Exception as error:  # noqa: BLE001  (whatever one request raises is its delivery's failed attempt)
        if not isinstance(error, aiohttp.ClientError | TimeoutError | OSError | ValueError):
            log.exception("webhook delivery %s: unexpected error, counted as a failed attempt", delivery.delivery_id)
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return Outcome(now, None, reason[:ERROR_MAX], round((time.perf_counter() - started) * 1000))
    duration_ms = round((time.perf_counter() - started) * 1000)
    if 200 <= response.status < 300:
        return Outcome(now, response.status, None, duration_ms)
    return Outcome(now, response.status, f"HTTP {response.status}: {excerpt}"[:ERROR_MAX], duration_ms)


def settled(delivery: repository.Claimed, outcome: Outcome, settings: Settings) -> repository.Attempted:
    """Delivered on a 2xx; else tried again after the backoff, until the retry period from its first attempt is
    over (not from its queuing: one that waited behind an earlier event of its entity, or in a paused
    subscription, gets its whole period too)."""
    state, next_attempt_at = DeliveryState.delivered, None
    if outcome.error is not None:
        first_attempt = delivery.first_attempted_at or outcome.attempted_at
        give_up_at = first_attempt + dt.timedelta(seconds=settings.webhook_retry_for_s)
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


async def deliver_due(
    sessionmaker: async_sessionmaker, client: aiohttp.ClientSession, settings: Settings
) -> float | None:
    """One round: claim, send (concurrently), record, in one transaction. Returns the seconds until more may be due:
    <= 0 when they may be now (the round was full, it let a later delivery of a key go, or a retry is due), else
    until the earliest retry; None when nothing waits but for a change to commit."""
    async with sessionmaker() as session:
        claimed = await repository.claim(session, settings.webhook_batch_size)
        if not claimed:
            due_in_s = await repository.seconds_to_next_retry(session)
            await session.rollback()
            return due_in_s
        # As many at once as the client has connections, so no request's time limit runs while it waits for one.
        gate = asyncio.Semaphore(settings.webhook_connections)

        async def gated(delivery: repository.Claimed) -> Outcome:
            async with gate:
                return await send(client, delivery, settings)

        outcomes = await asyncio.gather(*(gated(delivery) for delivery in claimed))
        attempted = [settled(d, outcome, settings) for d, outcome in zip(claimed, outcomes, strict=True)]
        released = await repository.record_attempts(session, attempted)
        more_now = released or len(claimed) == settings.webhook_batch_size
        due_in_s = 0.0 if more_now else await repository.seconds_to_next_retry(session)
        await session.commit()
    return due_in_s


def _wakes(signal: Signal) -> bool:
    """A change that may have queued a delivery (its event's) or made one due (a subscription resumed or asked
    for a redelivery)."""
    return signal.entity in outbox.EVENT_KINDS or signal.entity == ENTITY


class CheckedResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's resolver, keeping only the addresses a delivery may reach (`reachable_address`): the connection
    goes to an address checked here, so a second lookup (DNS rebinding) cannot lead it elsewhere. An IP address in
    the URL is not resolved; the allow-list checked it already."""

    def __init__(self, settings: Settings) -> None:
        self._resolver = aiohttp.ThreadedResolver()
        self._settings = settings

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list:
        found = await self._resolver.resolve(host, port, family)
        allowed = [entry for entry in found if reachable_address(entry["host"], self._settings)]
        if not allowed:
            addresses = ", ".join(sorted({entry["host"] for entry in found}))
            raise OSError(f"{host} resolves to {addresses}, none of them public nor on the allow-list")
        return allowed

    async def close(self) -> None:
        await self._resolver.close()


def _http_client(settings: Settings) -> aiohttp.ClientSession:
    # trust_env=False: no proxy from the environment stands between the allow-list and the request. No cookie jar:
    # a receiver's cookie is not sent with the next delivery. Uncompressed answers: only their first KiB is read.
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=settings.webhook_connections, resolver=CheckedResolver(settings)),
        timeout=aiohttp.ClientTimeout(total=settings.webhook_timeout_s),
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=("Accept-Encoding",),
    )


async def _idle(woken, stop: asyncio.Event, at_most_s: float) -> None:
    """Until a change that wakes the dispatcher commits, `stop` is set, or `at_most_s` passed."""
    waits = {asyncio.ensure_future(woken.wait(at_most_s)), asyncio.ensure_future(stop.wait())}
    _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for waiting in pending:
        waiting.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def dispatch(settings: Settings, stop: asyncio.Event) -> None:
    """Deliver until `stop` is set; the round under way finishes first."""
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    listener = ChangeListener(settings.database_url, settings.db_connect_timeout_s, settings.webhook_poll_interval_s)
    log.info("webhook dispatcher started")
    try:
        async with _http_client(settings) as client, listener.waiter(_wakes) as woken:
            while not stop.is_set():
                idle_s = settings.webhook_poll_interval_s
                try:
                    await listener.listen()  # before the round: a change committed after it wakes the next wait
                    due_in_s = await deliver_due(sessionmaker, client, settings)
                    if due_in_s is not None:
                        if due_in_s <= 0:
                            continue
                        idle_s = min(idle_s, due_in_s)
                except (DBAPIError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                    log.warning("webhook dispatcher cannot reach the database, retrying: %s", str(error)[:200])
                await _idle(woken, stop, idle_s)
    finally:
        await listener.close()
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
