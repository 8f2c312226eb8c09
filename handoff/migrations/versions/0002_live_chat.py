"""live chat: resident and agent sessions, session messages, transfers, emergencies, queue priority

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

import handoff.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "resident_sessions",
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", handoff.models.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", handoff.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_resident_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_resident_sessions_secret_hash")),
    )
    op.create_index(
        op.f("ix_resident_sessions_last_seen_at"), "resident_sessions", ["last_seen_at"], unique=False
    )
    op.create_table(
        "session_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("created_at", handoff.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["resident_sessions.conversation_id"],
            name=op.f("fk_session_messages_conversation_id_resident_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_messages")),
    )
    op.create_index(
        op.f("ix_session_messages_conversation_id"), "session_messages", ["conversation_id"], unique=False
    )
    op.create_table(
        "agent_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", handoff.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", handoff.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_sessions_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_agent_sessions")),
    )
    op.create_index(op.f("ix_agent_sessions_agent_id"), "agent_sessions", ["agent_id"], unique=False)
    op.create_index(op.f("ix_agent_sessions_expires_at"), "agent_sessions", ["expires_at"], unique=False)
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("transfer_to", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("emergency_level", sa.String(length=16), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("author", sa.String(length=128), nullable=True))
    with op.batch_alter_table("queue_entries") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("queue_entries") as batch:
        batch.drop_column("priority")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("author")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("emergency_level")
        batch.drop_column("transfer_to")
    op.drop_index(op.f("ix_agent_sessions_expires_at"), table_name="agent_sessions")
    op.drop_index(op.f("ix_agent_sessions_agent_id"), table_name="agent_sessions")
    op.drop_table("agent_sessions")
    op.drop_index(op.f("ix_session_messages_conversation_id"), table_name="session_messages")
    op.drop_table("session_messages")
    op.drop_index(op.f("ix_resident_sessions_last_seen_at"), table_name="resident_sessions")
    op.drop_table("resident_sessions")
