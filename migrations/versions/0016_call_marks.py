"""call marks: the call list's ticks (called, reached) are kept on the server, per booking

Revision ID: 0016_call_marks
Revises: 0015_tablet_pairing
"""
from alembic import op
import sqlalchemy as sa


revision = "0016_call_marks"
down_revision = "0015_tablet_pairing"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "call_mark",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("fk_call_mark_booking_id_booking"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_call_mark_user_id_user"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_call_mark")),
    )


def downgrade():
    op.drop_table("call_mark")
