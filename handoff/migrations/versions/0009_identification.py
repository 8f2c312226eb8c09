"""strong identification of a conversation: attempts and the identity (code encrypted)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

import handoff.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "identification_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("ticket_hash", sa.String(length=64), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=True),
        sa.Column("browser_hash", sa.String(length=64), nullable=True),
        sa.Column("nonce", sa.String(length=128), nullable=True),
        sa.Column("code_verifier", sa.String(length=128), nullable=True),
        sa.Column("created_at", handoff.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", handoff.models.UTCDateTime(), nullable=False),
        sa.Column("started_at", handoff.models.UTCDateTime(), nullable=True),
        sa.Column("finished_at", handoff.models.UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_identification_attempts_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identification_attempts")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_identification_attempts_state_hash")),
        sa.UniqueConstraint("ticket_hash", name=op.f("uq_identification_attempts_ticket_hash")),
    )
    op.create_index(
        op.f("ix_identification_attempts_conversation_id"), "identification_attempts", ["conversation_id"]
    )
    op.create_index(op.f("ix_identification_attempts_expires_at"), "identification_attempts", ["expires_at"])
    op.create_table(
        "conversation_identities",
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("identity_code", sa.Text(), nullable=False),
        sa.Column("given_name", sa.String(length=128), nullable=False),
        sa.Column("family_name", sa.String(length=128), nullable=False),
        sa.Column("provider", sa.String(length=255), nullable=False),
        sa.Column("identified_at", handoff.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_identities_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_conversation_identities")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("conversation_identities")
    op.drop_index(op.f("ix_identification_attempts_expires_at"), table_name="identification_attempts")
    op.drop_index(op.f("ix_identification_attempts_conversation_id"), table_name="identification_attempts")
    op.drop_table("identification_attempts")
