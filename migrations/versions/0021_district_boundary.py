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
    # A plain DROP COLUMN (SQLite 3.35 and later, PostgreSQL): the batch way copies the table and drops the old one,
    # which SQLite refuses while places and stops refer to its districts.
    op.drop_column("district", "boundary")
