"""totp: a coordinator's authenticator key and the last time step a code of it was used

Revision ID: 0009_totp
Revises: 0008_import_batch
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_totp"
down_revision = "0008_import_batch"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_secret")
