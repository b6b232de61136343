"""mitreden follow: the hash of the private link an idea's author follows it by

Revision ID: 0022_mitreden_follow
Revises: 0021_district_boundary
"""
from alembic import op
import sqlalchemy as sa


revision = "0022_mitreden_follow"
down_revision = "0021_district_boundary"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("idea") as batch:
        batch.add_column(sa.Column("follow_hash", sa.String(64), nullable=True))
        batch.create_unique_constraint(op.f("uq_idea_follow_hash"), ["follow_hash"])


def downgrade():
    with op.batch_alter_table("idea") as batch:
        batch.drop_constraint(op.f("uq_idea_follow_hash"), type_="unique")
        batch.drop_column("follow_hash")
