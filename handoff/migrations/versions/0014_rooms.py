"""consultation rooms: professionals-only messages per team and between teams

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

import handoff.models

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "room_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", handoff.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_room_messages_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_messages")),
    )
    op.create_index(op.f("ix_room_messages_room"), "room_messages", ["room"])
    op.create_index(op.f("ix_room_messages_created_at"), "room_messages", ["created_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_room_messages_created_at"), table_name="room_messages")
    op.drop_index(op.f("ix_room_messages_room"), table_name="room_messages")
    op.drop_table("room_messages")
