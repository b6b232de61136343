"""announced start: the start a published stop had before it was first given another time (schema.org's
previousStartDate for a rescheduled event)

Revision ID: 0006_announced_start
Revises: 0005_origins
"""
from alembic import op
import sqlalchemy as sa


revision = "0006_announced_start"
down_revision = "0005_origins"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announced_starts_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.drop_column("announced_starts_at")
