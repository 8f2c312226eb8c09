"""contact requests: the sender's request id, so a retried request is stored once

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("contact_requests") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_contact_requests_request_id", ["request_id"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("contact_requests") as batch:
        batch.drop_constraint("uq_contact_requests_request_id", type_="unique")
        batch.drop_column("request_id")
