"""learning queue: residents' messages the bot could learn from, masked, for content editors

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

import handoff.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "learning_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("suggested_intent", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("example", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", handoff.models.UTCDateTime(), nullable=True),
        sa.Column("exported_at", handoff.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", handoff.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_items")),
    )
    for column in ("conversation_id", "status", "created_at"):
        op.create_index(op.f(f"ix_learning_items_{column}"), "learning_items", [column])


def downgrade() -> None:
    """Revert this revision."""
    for column in ("conversation_id", "status", "created_at"):
        op.drop_index(op.f(f"ix_learning_items_{column}"), table_name="learning_items")
    op.drop_table("learning_items")
