"""the person behind a write: issuer, subject and name of a signed-in person in the journal and on measurements

Revision ID: 0007_oidc_person
Revises: 0005_seed_baseline
Create Date: 2026-12-01 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_oidc_person"
down_revision: str | None = "0005_seed_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_entry", sa.Column("issuer", sa.Text(), nullable=True))
    op.add_column("audit_entry", sa.Column("subject", sa.Text(), nullable=True))
    op.add_column("audit_entry", sa.Column("subject_name", sa.Text(), nullable=True))
    # A person posts without a token: the revision names them instead.
    op.alter_column("measurement", "posted_by_token", existing_type=sa.Uuid(), nullable=True)
    op.add_column("measurement", sa.Column("posted_by_subject", sa.Text(), nullable=True))
    op.add_column("measurement", sa.Column("posted_by_name", sa.Text(), nullable=True))
    op.add_column("measurement", sa.Column("reviewed_by_subject", sa.Text(), nullable=True))
    op.add_column("measurement", sa.Column("reviewed_by_name", sa.Text(), nullable=True))


def downgrade() -> None:
    # A person's revision keeps a stable stand-in for the token it never had: nothing posted is dropped.
    op.execute("UPDATE measurement SET posted_by_token = md5(posted_by_subject)::uuid WHERE posted_by_token IS NULL")
    for column in ("reviewed_by_name", "reviewed_by_subject", "posted_by_name", "posted_by_subject"):
        op.drop_column("measurement", column)
    op.alter_column("measurement", "posted_by_token", existing_type=sa.Uuid(), nullable=False)
    for column in ("subject_name", "subject", "issuer"):
        op.drop_column("audit_entry", column)
