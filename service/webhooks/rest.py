"""Admin REST API of webhooks, under /api/v1/webhooks (no GraphQL: admin plumbing, not data)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from service.core.auth import AdminDep
from service.core.caching import CONDITIONAL_READ, json_with_etag, written
from service.core.db import SessionDep
from service.core.errors import WRITE_RESPONSES
from service.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page
from service.core.preconditions import IfMatch
from service.settings import Settings
from service.webhooks import service
from service.webhooks.models import DeliveryState, SubscriptionStatus
from service.webhooks.schemas import DeliveryOut, RedeliverIn, RedeliverOut, WebhookIn, WebhookOut, WebhookWithSecret

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], responses=WRITE_RESPONSES)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(_settings)]


@router.post("", status_code=201, response_model=WebhookWithSecret)
async def create_webhook(session: SessionDep, admin: AdminDep, settings: SettingsDep, payload: WebhookIn) -> Response:
    """Admin: register a receiver for these event types. The answer holds its signing secret, shown this once.
    A URL whose host is not on the allow-list is refused (422)."""
    created = await service.create(session, admin, payload, settings)
    return written(created, 201, {"Location": f"/api/v1/webhooks/{created.id}"})


@router.get("", response_model=Page[WebhookOut])
async def list_webhooks(
    session: SessionDep, admin: AdminDep, limit: LimitParam = DEFAULT_LIMIT, cursor: CursorParam = None
) -> Page[WebhookOut]:
    """Admin: the registered webhooks (never their secrets)."""
    return await service.list_webhooks(session, cursor=cursor, limit=limit)


@router.get("/{webhook_id}", response_model=WebhookOut, responses=CONDITIONAL_READ)
async def get_webhook(request: Request, session: SessionDep, admin: AdminDep, webhook_id: uuid.UUID) -> Response:
    return json_with_etag(request, await service.get(session, webhook_id))


@router.post("/{webhook_id}/pause", response_model=WebhookOut)
async def pause_webhook(session: SessionDep, admin: AdminDep, webhook_id: uuid.UUID) -> Response:
    """Admin: stop sending. Events still queue for it, and go out in order once it is resumed."""
    return written(await service.set_status(session, admin, webhook_id, SubscriptionStatus.paused))


@router.post("/{webhook_id}/resume", response_model=WebhookOut)
async def resume_webhook(session: SessionDep, admin: AdminDep, webhook_id: uuid.UUID) -> Response:
    return written(await service.set_status(session, admin, webhook_id, SubscriptionStatus.active))


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookWithSecret)
async def rotate_webhook_secret(
    session: SessionDep, admin: AdminDep, settings: SettingsDep, webhook_id: uuid.UUID
) -> Response:
    """Admin: a new signing secret, shown this once; the old one keeps signing too (a second signature in
    `webhook-signature`) until `previous_secret_until`, so the receiver can switch without losing events."""
    return written(await service.rotate_secret(session, admin, webhook_id, settings))


@router.delete("/{webhook_id}", status_code=204)
async def delete_webhook(
    session: SessionDep, admin: AdminDep, webhook_id: uuid.UUID, if_match: IfMatch = None
) -> Response:
    """Admin: delete the webhook with its queue and delivery log (the audit log keeps what it was)."""
    await service.delete(session, admin, webhook_id, if_match)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryOut])
async def list_webhook_deliveries(
    session: SessionDep,
    admin: AdminDep,
    webhook_id: uuid.UUID,
    state: Annotated[DeliveryState | None, Query(description="Only deliveries in this state.")] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[DeliveryOut]:
    """Admin: the delivery log, newest first: each event's state, attempts, statuses and response times."""
    return await service.deliveries(
        session, webhook_id, state=state.value if state else None, cursor=cursor, limit=limit
    )


@router.post("/{webhook_id}/redeliver", status_code=202, response_model=RedeliverOut)
async def redeliver_webhook_events(
    session: SessionDep, admin: AdminDep, webhook_id: uuid.UUID, payload: RedeliverIn
) -> RedeliverOut:
    """Admin: send one event (`event_id`) or everything since a moment (`since`) again, with the same `webhook-id`."""
    return await service.redeliver(session, admin, webhook_id, payload)
