"""resident sessions: when the resident ended the conversation, and the reference the resident sees;
agents: a password that must be changed at the next login

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import handoff.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("resident_sessions") as batch:
        batch.add_column(sa.Column("ended_at", handoff.models.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("reference", sa.String(length=16), nullable=True))
        batch.create_unique_constraint("uq_resident_sessions_reference", ["reference"])
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("must_change_password")
    with op.batch_alter_table("resident_sessions") as batch:
        batch.drop_constraint("uq_resident_sessions_reference", type_="unique")
        batch.drop_column("reference")
        batch.drop_column("ended_at")
