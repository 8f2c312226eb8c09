"""contact requests: the reply date promised to the resident, and the handler's note

Requests stored before this revision keep no reply date (the promise was not stored).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("contact_requests") as batch:
        batch.add_column(sa.Column("handled_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reply_by", sa.Date(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("contact_requests") as batch:
        batch.drop_column("reply_by")
        batch.drop_column("handled_note")
