"""stop series: stops made as a series keep the link to it, and a series' workshops share a key per date

Revision ID: 0023_stop_series
Revises: 0022_mitreden_follow
"""
from alembic import op
import sqlalchemy as sa


revision = "0023_stop_series"
down_revision = "0022_mitreden_follow"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stop_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(300), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stop_series")),
    )
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_stop_series_id_stop_series"), "stop_series", ["series_id"],
                                    ["id"], ondelete="SET NULL")
        batch_op.create_index(batch_op.f("ix_stop_series_id"), ["series_id"], unique=False)
    with op.batch_alter_table("workshop", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_key", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("workshop", schema=None) as batch_op:
        batch_op.drop_column("series_key")
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stop_series_id"))
        batch_op.drop_constraint(batch_op.f("fk_stop_series_id_stop_series"), type_="foreignkey")
        batch_op.drop_column("series_id")
    op.drop_table("stop_series")
