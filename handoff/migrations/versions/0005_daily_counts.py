"""statistics: daily counts per team that outlive retention; when a resident's conversation was counted

Conversations that exist when this runs are marked counted: counting starts here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

import handoff.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UNCOUNTED = "counted_at IS NULL OR last_seen_at > counted_at"


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "daily_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "team_id", "metric", "label", name=op.f("pk_daily_counts")),
    )
    with op.batch_alter_table("resident_sessions") as batch:
        batch.add_column(sa.Column("counted_at", handoff.models.UTCDateTime(), nullable=True))
    op.execute("UPDATE resident_sessions SET counted_at = last_seen_at")
    op.create_index(
        "ix_resident_sessions_uncounted",
        "resident_sessions",
        ["last_seen_at"],
        sqlite_where=sa.text(UNCOUNTED),
        postgresql_where=sa.text(UNCOUNTED),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(
        "ix_resident_sessions_uncounted",
        table_name="resident_sessions",
        sqlite_where=sa.text(UNCOUNTED),
        postgresql_where=sa.text(UNCOUNTED),
    )
    with op.batch_alter_table("resident_sessions") as batch:
        batch.drop_column("counted_at")
    op.drop_table("daily_counts")
