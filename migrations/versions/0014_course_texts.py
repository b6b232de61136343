"""course texts in other languages: a catalogue entry's title, description and what to bring per language

Revision ID: 0014_course_texts
Revises: 0013_mitreden_station
"""
from alembic import op
import sqlalchemy as sa


revision = "0014_course_texts"
down_revision = "0013_mitreden_station"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.add_column(sa.Column("texts", sa.JSON(), server_default=sa.text("'{}'"), nullable=False))


def downgrade():
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.drop_column("texts")
