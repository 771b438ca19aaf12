"""Rules of webhooks: which targets are allowed, secrets, and the admin's audited changes to subscriptions."""

import base64
import datetime as dt
import ipaddress
import re
import secrets
import uuid
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from service.core import journal
from service.core.auth import Principal
from service.core.caching import locked_at_version
from service.core.db import lock_row
from service.core.errors import NotFound, Problem, quoted
from service.core.pagination import Page, decode_cursor, encode_cursor
from service.settings import Settings
from service.webhooks import repository
from service.webhooks.models import SubscriptionStatus, WebhookSubscription
from service.webhooks.schemas import (
    AttemptOut,
    DeliveryOut,
    RedeliverIn,
    RedeliverOut,
    WebhookIn,
    WebhookOut,
    WebhookWithSecret,
)

ENTITY = "webhook_subscription"  # in the audit log; it has no outbox event (core/outbox.py names none)
WHAT = "webhook"


def target_refusal(url: str, settings: Settings) -> str | None:
    """Why a URL may not receive webhooks, or None: its host must be on the allow-list, so that nobody can make the
    service send requests to arbitrary (internal) addresses. The dispatcher asks again before every request."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  (raises for a port that is not a number or out of range)
    except ValueError:
        return f"The URL {quoted(url)} cannot be read; give an absolute https:// URL."
    schemes = ("https",) if settings.webhook_require_https else ("https", "http")
    if parts.scheme not in schemes or not host:
        return f"The URL {quoted(url)} must be an absolute {' or '.join(s + '://' for s in schemes)} URL."
    if parts.username is not None or parts.password is not None:
        return "The URL must not carry credentials; receivers check the signature instead."
    if any(character <= " " or character == "\x7f" for character in url):
        return f"The URL {quoted(url)} holds spaces or control characters; percent-encode them."
    if not (_is_address(host) or _is_host_name(host)):
        return f"The host {quoted(host)} is neither an IP address nor a host name (letters, digits, `-`, dots)."
    if not any(_allowed(host, entry) for entry in settings.webhook_allowed_hosts):
        return (
            f"The host {quoted(host)} is not on the allow-list of webhook targets; ask the operator to add it "
            "to WEBHOOK_ALLOWED_HOSTS, or use a host that is on it."
        )
    return None


_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _is_host_name(host: str) -> bool:
    """A name DNS can look up: in its ASCII (IDNA) form, labels of letters, digits and inner `-`, and an
    internationalised one whose `xn--` labels decode (Python's codec refuses them otherwise)."""
    try:
        ascii_name = host.encode("idna").decode("ascii")
        ascii_name.encode("ascii").decode("idna")
    except UnicodeError:
        return False
    labels = ascii_name.removesuffix(".").split(".")
    return len(ascii_name) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


def reachable_address(address: str, settings: Settings) -> bool:
    """Whether the dispatcher may connect to this address a target's name resolved to: any public one; a
    loopback, private, link-local or reserved one only when an address entry of the allow-list holds it (so a
    name on the list, or a name's DNS changed later, cannot point deliveries into the service's own network)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global or any(_allowed(str(ip), entry) for entry in settings.webhook_allowed_hosts)


def _allowed(host: str, entry: str) -> bool:
    entry = entry.strip().lower()
    try:
        network = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        network = None
    if network is not None:
        try:
            return ipaddress.ip_address(host.strip("[]")) in network
        except ValueError:
            return False  # a name is not matched by an address entry: what it resolves to can change
    if entry.startswith("*."):
        return host.endswith(entry[1:]) and len(host) > len(entry) - 1
    return host == entry


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def out(row: WebhookSubscription) -> WebhookOut:
    return WebhookOut.model_validate(row, from_attributes=True)


def _audited(row: WebhookSubscription) -> dict:
    # The secret never enters the audit log, which admins and reviewers read.
    return out(row).model_dump(mode="json", exclude={"created_at", "updated_at"})


async def _locked(session: AsyncSession, webhook_id: uuid.UUID) -> WebhookSubscription:
    row = await lock_row(session, WebhookSubscription, webhook_id)
    if row is None:
        raise NotFound(WHAT, webhook_id)
    return row


async def create(session: AsyncSession, admin: Principal, payload: WebhookIn, settings: Settings) -> WebhookWithSecret:
    if refusal := target_refusal(payload.url, settings):
        raise Problem(422, refusal)
    row = WebhookSubscription(
        url=payload.url,
        event_types=list(dict.fromkeys(t.value for t in payload.event_types)),
        description=payload.description,
        status=SubscriptionStatus.active,
        secret=new_secret(),
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await journal.record(session, admin, "create", ENTITY, row.id, None, _audited(row))
    return WebhookWithSecret(**out(row).model_dump(), secret=row.secret)


async def list_webhooks(session: AsyncSession, *, cursor: str | None, limit: int) -> Page[WebhookOut]:
    after = decode_cursor(cursor, (uuid.UUID,))[0] if cursor else None
    rows = await repository.subscriptions(session, after=after, limit=limit)
    next_cursor = encode_cursor([str(rows[limit - 1].id)]) if len(rows) > limit else None
    return Page[WebhookOut](items=[out(row) for row in rows[:limit]], next_cursor=next_cursor)


async def get(session: AsyncSession, webhook_id: uuid.UUID) -> WebhookOut:
    row = await session.get(WebhookSubscription, webhook_id)
    if row is None:
        raise NotFound(WHAT, webhook_id)
    return out(row)


async def set_status(
    session: AsyncSession, admin: Principal, webhook_id: uuid.UUID, status: SubscriptionStatus
) -> WebhookOut:
    """Pause (events queue, nothing is sent) or resume (the queue is sent, in order); already so: no change."""
    row = await _locked(session, webhook_id)
    if row.status != status:
        before = _audited(row)
        row.status = status
        row.updated_at = dt.datetime.now(dt.UTC)
        await session.flush()
        action = "pause" if status == SubscriptionStatus.paused else "resume"
        await journal.record(session, admin, action, ENTITY, row.id, before, _audited(row))
    return out(row)


async def rotate_secret(
    session: AsyncSession, admin: Principal, webhook_id: uuid.UUID, settings: Settings
) -> WebhookWithSecret:
    """A new secret signs from now on; the old one signs too (a second signature) for the grace period."""
    row = await _locked(session, webhook_id)
    before = _audited(row)
    now = dt.datetime.now(dt.UTC)
    row.previous_secret, row.secret = row.secret, new_secret()
    row.previous_secret_until = now + dt.timedelta(seconds=settings.webhook_secret_grace_s)
    row.updated_at = now
    await session.flush()
    await journal.record(session, admin, "rotate_secret", ENTITY, row.id, before, _audited(row))
    return WebhookWithSecret(**out(row).model_dump(), secret=row.secret)


async def delete(session: AsyncSession, admin: Principal, webhook_id: uuid.UUID, if_match: str | None) -> None:
    """Deletes the subscription with its queue and delivery log; the audit log keeps what it was."""

    async def read(row: WebhookSubscription) -> WebhookOut:
        return out(row)

    row, _ = await locked_at_version(session, WebhookSubscription, webhook_id, if_match, read, what=WHAT)
    before = _audited(row)
    await session.delete(row)
    await session.flush()
    await journal.record(session, admin, "delete", ENTITY, webhook_id, before, None)


async def deliveries(
    session: AsyncSession, webhook_id: uuid.UUID, *, state: str | None, cursor: str | None, limit: int
) -> Page[DeliveryOut]:
    await get(session, webhook_id)
    before = decode_cursor(cursor, (int,))[0] if cursor else None
    rows = await repository.deliveries(session, webhook_id, before=before, state=state, limit=limit)
    page = rows[:limit]
    logs = await repository.attempts(session, [delivery.id for delivery, _ in page])
    items = [
        DeliveryOut(
            id=delivery.id,
            event_id=event.id,
            event_type=event.type,
            occurred_at=event.occurred_at,
            state=delivery.state,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at if delivery.state == "pending" else None,
            last_status=delivery.last_status,
            delivered_at=delivery.delivered_at,
            log=[AttemptOut.model_validate(attempt, from_attributes=True) for attempt in logs[delivery.id]],
        )
        for delivery, event in page
    ]
    next_cursor = encode_cursor([page[-1][0].id]) if len(rows) > limit else None
    return Page[DeliveryOut](items=items, next_cursor=next_cursor)


async def redeliver(
    session: AsyncSession, admin: Principal, webhook_id: uuid.UUID, payload: RedeliverIn
) -> RedeliverOut:
    """Queue one event, or every event of the subscription's types since a moment, again (also those that came
    before the subscription): same `webhook-id`, so a receiver that already has one can tell."""
    row = await _locked(session, webhook_id)
    if payload.event_id is not None:
        queued = await repository.requeue_event(session, row, payload.event_id)
        if not queued:
            raise NotFound(f"event of the types this {WHAT} subscribes to", payload.event_id)
        asked = {"event_id": str(payload.event_id)}
    else:
        queued = await repository.requeue_since(session, row, payload.since)
        asked = {"since": payload.since.isoformat()}
    state = _audited(row)
    redelivery = {"redelivery": asked, "queued": queued}
    await journal.record(session, admin, "redeliver", ENTITY, row.id, state, state | redelivery)
    return RedeliverOut(queued=queued)
