"""planning: the course catalogue, parallel workshops, cancel reasons of workshops, the last change told to people

Revision ID: 0002_planning
Revises: 0002_lang
"""
from alembic import op
import sqlalchemy as sa


revision = "0002_planning"
down_revision = "0002_lang"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "course",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=160), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("what_to_bring", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_course_duration_positive")),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_course_capacity_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course")),
    )
    with op.batch_alter_table("workshop", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parallel", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=300), server_default="", nullable=False))
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_note", sa.String(length=300), server_default="", nullable=False))
        batch_op.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.drop_column("changed_at")
        batch_op.drop_column("change_note")
    with op.batch_alter_table("workshop", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("parallel")
    op.drop_table("course")
