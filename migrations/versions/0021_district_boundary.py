"""district boundary: the outline of each district from the town's official list (GeoJSON, WGS 84), or none

Revision ID: 0021_district_boundary
Revises: 0020_mitreden_merge_correct
"""
from alembic import op
import sqlalchemy as sa


revision = "0021_district_boundary"
down_revision = "0020_mitreden_merge_correct"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("district") as batch:
        batch.add_column(sa.Column("boundary", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("district") as batch:
        batch.drop_column("boundary")
