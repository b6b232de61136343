"""feedback: the time an answer was given

Revision ID: 0002_faults
Revises: 0002_journey

"""
from alembic import op
import sqlalchemy as sa



revision = "0002_faults"
down_revision = "0002_journey"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("given_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("given_at")
