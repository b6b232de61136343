"""calendar links: each coordinator's secret, revocable address of the whole tour as a calendar feed

Revision ID: 0018_calendar_links
Revises: 0017_mitreden_stops
"""
from alembic import op
import sqlalchemy as sa


revision = "0018_calendar_links"
down_revision = "0017_mitreden_stops"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calendar_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_calendar_link_user_id_user"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_link")),
        sa.UniqueConstraint("token", name=op.f("uq_calendar_link_token")),
        sa.UniqueConstraint("user_id", name=op.f("uq_calendar_link_user_id")),
    )


def downgrade():
    op.drop_table("calendar_link")
