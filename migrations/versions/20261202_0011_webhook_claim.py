"""webhook claim: the due index in the dispatcher's claim order (next_attempt_at, id), so a claim walks it to its
limit instead of reading and sorting every due delivery

Revision ID: 0011_webhook_claim
Revises: 0010_provenance
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_webhook_claim"
down_revision: str | None = "0010_provenance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.drop_index("webhook_delivery_due", "webhook_delivery")
    op.create_index("webhook_delivery_due", "webhook_delivery", ["next_attempt_at", "id"], postgresql_where=PENDING)


def downgrade() -> None:
    op.drop_index("webhook_delivery_due", "webhook_delivery")
    op.create_index("webhook_delivery_due", "webhook_delivery", ["next_attempt_at"], postgresql_where=PENDING)
