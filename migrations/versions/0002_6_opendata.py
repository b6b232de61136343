"""open data: when a published stop was moved

Revision ID: 0002_opendata
Revises: 0002_scale
"""
from alembic import op
import sqlalchemy as sa



revision = "0002_opendata"
down_revision = "0002_scale"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moved_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.drop_column("moved_at")
