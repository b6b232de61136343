"""course walk-ins: whether a course's workshops welcome people who just come by

Revision ID: 0011_course_walk_ins
Revises: 0010_mitreden
"""
from alembic import op
import sqlalchemy as sa


revision = "0011_course_walk_ins"
down_revision = "0010_mitreden"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.add_column(sa.Column("walk_ins", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade():
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.drop_column("walk_ins")
