"""mitreden stops: where an answer was given (the stop of the code scanned, of the station or of the paper card)

Revision ID: 0017_mitreden_stops
Revises: 0016_call_marks
"""
from alembic import op
import sqlalchemy as sa


revision = "0017_mitreden_stops"
down_revision = "0016_call_marks"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contribution") as batch:
        batch.add_column(sa.Column("stop_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_contribution_stop_id_stop", "stop", ["stop_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_contribution_stop_id", ["stop_id"])


def downgrade():
    with op.batch_alter_table("contribution") as batch:
        batch.drop_index("ix_contribution_stop_id")
        batch.drop_constraint("fk_contribution_stop_id_stop", type_="foreignkey")
        batch.drop_column("stop_id")
