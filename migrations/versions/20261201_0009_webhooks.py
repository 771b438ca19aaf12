"""webhooks: the transactional outbox, subscriptions, their deliveries (queued by a trigger) and the delivery log

Revision ID: 0009_webhooks
Revises: 0008_reporting
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_webhooks"
down_revision: str | None = "0008_reporting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_XACT = "(pg_current_xact_id()::text::bigint)"

# Each statement that adds outbox events queues, in the same transaction, one delivery per subscription to the
# event's type, so no committed event is without its deliveries. FOR KEY SHARE: a subscription deleted meanwhile
# is skipped (after its deletion commits) instead of failing the writer's foreign key check.
FAN_OUT_FUNCTION = """
CREATE FUNCTION outbox_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_delivery (subscription_id, event_seq, ordering_key)
    SELECT s.id, e.seq, e.ordering_key
    FROM new_events e JOIN webhook_subscription s ON e.type = ANY (s.event_types)
    ORDER BY e.seq
    FOR KEY SHARE OF s;
    RETURN NULL;
END
$$
"""
FAN_OUT_TRIGGER = """
CREATE TRIGGER outbox_fan_out AFTER INSERT ON outbox_event REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_fan_out()
"""


def upgrade() -> None:
    op.create_table(
        "outbox_event",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("xact", sa.BigInteger(), server_default=sa.text(CURRENT_XACT), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("ordering_key", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_table(
        "webhook_subscription",
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("ordering_key", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), server_default="pending", nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["subscription_id"], ["webhook_subscription.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_seq"], ["outbox_event.seq"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("webhook_delivery_event", "webhook_delivery", ["subscription_id", "event_seq"], unique=True)
    op.create_index(
        "webhook_delivery_due", "webhook_delivery", ["next_attempt_at"], postgresql_where=sa.text("state = 'pending'")
    )
    op.create_index(
        "webhook_delivery_queue",
        "webhook_delivery",
        ["subscription_id", "ordering_key", "event_seq"],
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_delivery.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("webhook_attempt_delivery", "webhook_attempt", ["delivery_id", "id"])
    op.execute(FAN_OUT_FUNCTION)
    op.execute(FAN_OUT_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER outbox_fan_out ON outbox_event")
    op.execute("DROP FUNCTION outbox_fan_out()")
    op.drop_table("webhook_attempt")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_subscription")
    op.drop_table("outbox_event")
