"""ended sign-ins: signing out ends the sign-in of that device only

Revision ID: 0012_ended_sign_in
Revises: 0011_course_walk_ins
"""
from alembic import op
import sqlalchemy as sa


revision = "0012_ended_sign_in"
down_revision = "0011_course_walk_ins"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ended_sign_in",
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_ended_sign_in_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_ended_sign_in")),
    )
    with op.batch_alter_table("ended_sign_in", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ended_sign_in_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ended_sign_in_ended_at"), ["ended_at"], unique=False)


def downgrade():
    op.drop_table("ended_sign_in")
