"""journal feed: each audit entry keeps its transaction id and parent; tombstones fold into the journal

Revision ID: 0005_journal_feed
Revises: 0004
Create Date: 2026-11-22 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_journal_feed"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_XACT = "(pg_current_xact_id()::text::bigint)"


def upgrade() -> None:
    # Entries written before this migration share its transaction id; (xact, id) keeps their order.
    op.add_column(
        "audit_entry", sa.Column("xact", sa.BigInteger(), server_default=sa.text(CURRENT_XACT), nullable=False)
    )
    op.add_column("audit_entry", sa.Column("parent_entity", sa.Text(), nullable=True))
    op.add_column("audit_entry", sa.Column("parent_id", sa.Text(), nullable=True))
    op.create_index("audit_entry_feed", "audit_entry", ["xact", "id"], unique=False)
    # A membership's organisation, for the memberships already journaled: the new column is filled in, no
    # recorded fact changes, so the append-only trigger steps aside for this one statement.
    op.execute("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
    op.execute(
        """
        UPDATE audit_entry SET parent_entity = 'organization',
               parent_id = coalesce(after, before) ->> 'organization_id'
        WHERE entity = 'membership'
        """
    )
    op.execute("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")
    # Every tombstone was written beside its 'delete' entry; one without it (written by hand) moves over.
    op.execute(
        """
        INSERT INTO audit_entry (at, role, institution_code, action, entity, entity_id, before, after)
        SELECT t.deleted_at, split_part(t.deleted_by, ':', 1), nullif(split_part(t.deleted_by, ':', 2), '-'),
               'delete', t.entity, t.entity_id::text, NULL, NULL
        FROM tombstone t
        WHERE NOT EXISTS (
            SELECT 1 FROM audit_entry a
            WHERE a.action = 'delete' AND a.entity = t.entity AND a.entity_id = t.entity_id::text
        )
        ORDER BY t.deleted_at
        """
    )
    op.drop_index("tombstone_deleted_at", table_name="tombstone")
    op.drop_table("tombstone")


def downgrade() -> None:
    op.create_table(
        "tombstone",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("tombstone_deleted_at", "tombstone", ["deleted_at", "entity", "entity_id"], unique=False)
    op.execute(
        """
        INSERT INTO tombstone (id, entity, entity_id, deleted_at, deleted_by)
        SELECT gen_random_uuid(), entity, entity_id::uuid, at, role || ':' || coalesce(institution_code, '-')
        FROM audit_entry WHERE action = 'delete'
        """
    )
    op.drop_index("audit_entry_feed", table_name="audit_entry")
    op.drop_column("audit_entry", "parent_id")
    op.drop_column("audit_entry", "parent_entity")
    op.drop_column("audit_entry", "xact")
