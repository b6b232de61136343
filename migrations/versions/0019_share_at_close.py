"""seat shares at booking close: a tablet lines up for a share when it prepares the day, and seats are taken for it
only when booking closes (taken_at); shares held before are taken

Revision ID: 0019_share_at_close
Revises: 0018_calendar_links
"""
from alembic import op
import sqlalchemy as sa


revision = "0019_share_at_close"
down_revision = "0018_calendar_links"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("seat_share", schema=None) as batch_op:
        batch_op.add_column(sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE seat_share SET taken_at = CURRENT_TIMESTAMP")


def downgrade():
    # A share still in line held no seat: it goes.
    op.execute("DELETE FROM seat_share WHERE taken_at IS NULL")
    with op.batch_alter_table("seat_share", schema=None) as batch_op:
        batch_op.drop_column("taken_at")
