"""desk sockets: agents' open desk sockets on every replica, for presence and the grace period

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import handoff.models

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "desk_sockets",
        sa.Column("replica_id", sa.String(length=32), nullable=False),
        sa.Column("socket_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("connected_at", handoff.models.UTCDateTime(), nullable=False),
        sa.Column("last_seen", handoff.models.UTCDateTime(), nullable=False),
        sa.Column("closed_at", handoff.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_desk_sockets_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("replica_id", "socket_id", name=op.f("pk_desk_sockets")),
    )
    op.create_index(op.f("ix_desk_sockets_agent_id"), "desk_sockets", ["agent_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_desk_sockets_agent_id"), table_name="desk_sockets")
    op.drop_table("desk_sockets")
