"""mitreden moderation: ideas merged into another one, corrections with a visible note, the city's answer in the
idea's own language

Revision ID: 0020_mitreden_merge_correct
Revises: 0019_share_at_close
"""
from alembic import op
import sqlalchemy as sa


revision = "0020_mitreden_merge_correct"
down_revision = "0019_share_at_close"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("idea") as batch:
        batch.add_column(sa.Column("answer_texts", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("correction_note", sa.String(300), nullable=False, server_default=""))
        batch.add_column(sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_idea_merged_into_id_idea", "idea", ["merged_into_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_index("ix_idea_merged_into_id", ["merged_into_id"])
        batch.create_check_constraint(op.f("ck_idea_not_merged_into_itself"), "merged_into_id IS NULL OR merged_into_id <> id")


def downgrade():
    with op.batch_alter_table("idea") as batch:
        batch.drop_constraint(op.f("ck_idea_not_merged_into_itself"), type_="check")
        batch.drop_index("ix_idea_merged_into_id")
        batch.drop_constraint("fk_idea_merged_into_id_idea", type_="foreignkey")
        batch.drop_column("corrected_at")
        batch.drop_column("correction_note")
        batch.drop_column("merged_into_id")
        batch.drop_column("answer_texts")
