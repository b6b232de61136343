"""origins: a keyed hash of the address a booking or a feedback answer came from, for the per-address limits and
the coordinators' view of bursts

Revision ID: 0005_origins
Revises: 0004_tour_upload
"""
from alembic import op
import sqlalchemy as sa


revision = "0005_origins"
down_revision = "0004_tour_upload"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_booking_origin"), ["origin"], unique=False)
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=64), nullable=False, server_default=""))
        batch_op.create_index(batch_op.f("ix_feedback_origin"), ["origin"], unique=False)


def downgrade():
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_origin"))
        batch_op.drop_column("origin")
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booking_origin"))
        batch_op.drop_column("origin")
