"""consultation: a consultant may join the resident's chat as a visible participant

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

import handoff.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("consultations") as batch:
        batch.add_column(sa.Column("visible_since", handoff.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("consultations") as batch:
        batch.drop_column("visible_since")
