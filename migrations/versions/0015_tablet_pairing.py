"""tablet pairing: a new tablet works only once a coordinator has approved it; tablets set up before are approved

Revision ID: 0015_tablet_pairing
Revises: 0014_course_texts
"""
from alembic import op
import sqlalchemy as sa


revision = "0015_tablet_pairing"
down_revision = "0014_course_texts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("approved_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_device_approved_by_id_user"), "user", ["approved_by_id"], ["id"])
    # Tablets that were working keep working: they count as approved when they were registered.
    op.execute("UPDATE device SET approved_at = created_at WHERE revoked_at IS NULL")


def downgrade():
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_device_approved_by_id_user"), type_="foreignkey")
        batch_op.drop_column("approved_by_id")
        batch_op.drop_column("approved_at")
