"""scale: indexes for long tours, and workshop.updated_at for the calendar feeds' version

Revision ID: 0002_scale
Revises: 0002_checkin
"""
from alembic import op
import sqlalchemy as sa



revision = "0002_scale"
down_revision = "0002_checkin"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("workshop", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    # Existing workshops count as changed when they were made.
    op.execute("UPDATE workshop SET updated_at = created_at")
    with op.batch_alter_table("workshop", schema=None) as batch_op:
        batch_op.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index(batch_op.f("ix_workshop_updated_at"), ["updated_at"], unique=False)
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.create_index("ix_stop_district_id_starts_at", ["district_id", "starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_stop_updated_at"), ["updated_at"], unique=False)


def downgrade():
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stop_updated_at"))
        batch_op.drop_index("ix_stop_district_id_starts_at")
    with op.batch_alter_table("workshop", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workshop_updated_at"))
        batch_op.drop_column("updated_at")
