"""texts in other languages for workshops, stops and places

Revision ID: 0002_lang
Revises: 0002_opendata
"""
from alembic import op
import sqlalchemy as sa


revision = "0002_lang"
down_revision = "0002_opendata"
branch_labels = None
depends_on = None


def upgrade():
    for table in ("stop", "workshop", "place"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("texts", sa.JSON(), server_default=sa.text("'{}'"), nullable=False))


def downgrade():
    for table in ("place", "workshop", "stop"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("texts")
