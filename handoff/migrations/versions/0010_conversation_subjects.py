"""acting for a child: the child a guardian acts for in a conversation (code encrypted)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

import handoff.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "conversation_subjects",
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("identity_code", sa.Text(), nullable=False),
        sa.Column("given_name", sa.String(length=128), nullable=False),
        sa.Column("family_name", sa.String(length=128), nullable=False),
        sa.Column("age", sa.Integer(), nullable=False),
        sa.Column("chosen_at", handoff.models.UTCDateTime(), nullable=False),
        sa.Column("maturity", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", handoff.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_subjects_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_conversation_subjects")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("conversation_subjects")
