"""workshop order: an index for listing workshops by time, as the open data does

Revision ID: 0003_workshop_order
Revises: 0002_planning
"""
from alembic import op


revision = "0003_workshop_order"
down_revision = "0002_planning"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("workshop", schema=None) as batch_op:
        batch_op.create_index("ix_workshop_starts_at_id", ["starts_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("workshop", schema=None) as batch_op:
        batch_op.drop_index("ix_workshop_starts_at_id")
