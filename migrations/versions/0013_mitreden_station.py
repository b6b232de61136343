"""mitreden station: the staff PIN that unlocks a tablet switched into the Mitmach-Station, stored hashed

Revision ID: 0013_mitreden_station
Revises: 0012_ended_sign_in
"""
from alembic import op
import sqlalchemy as sa


revision = "0013_mitreden_station"
down_revision = "0012_ended_sign_in"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "station_pin",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pin_hash", sa.String(255), nullable=False),
        sa.Column("set_by_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("station_pin")
