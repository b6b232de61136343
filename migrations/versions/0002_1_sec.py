"""security and privacy: per-account session version, proof of who sent a booking

Revision ID: 0002_sec
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_sec"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replay_proof", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_column("replay_proof")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("session_version")
