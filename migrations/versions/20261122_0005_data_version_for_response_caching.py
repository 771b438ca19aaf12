"""data version for response caching

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 00:28:05.618280
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Every table whose rows the public reads return. A write to any of them moves the data version,
# which keys the response cache (service/core/response_cache.py).
TRACKED = [
    "institution", "organization", "membership", "engagement", "representation", "representation_organization",
    "strategy", "footnote", "swot_factor", "policy_area", "goal", "goal_institution", "indicator",
    "indicator_value", "action_direction", "task", "task_institution", "measurement", "progress_assessment",
    "tombstone",
]  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="data_version_single_row"),
    )
    op.execute("INSERT INTO data_version (id, version) VALUES (1, 1)")
    # Deferred to commit time, and once per transaction: the single row is locked only while the
    # writing transaction commits, and readers see the new version exactly when they see the data.
    op.execute(
        """
        CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF coalesce(current_setting('app.data_version_bumped', true), '') <> 'yes' THEN
                UPDATE data_version SET version = version + 1 WHERE id = 1;
                PERFORM set_config('app.data_version_bumped', 'yes', true);
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for table in TRACKED:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_bumps_data_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_data_version()"
        )


def downgrade() -> None:
    for table in TRACKED:
        op.execute(f"DROP TRIGGER {table}_bumps_data_version ON {table}")
    op.execute("DROP FUNCTION bump_data_version()")
    op.drop_table("data_version")
