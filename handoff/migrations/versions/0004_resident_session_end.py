"""resident sessions: when the resident ended the conversation ("Lopeta keskustelu")

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


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("resident_sessions") as batch:
        batch.drop_column("ended_at")
