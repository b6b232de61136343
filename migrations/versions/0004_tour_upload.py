"""tour upload: a checked tour file waits for its confirmation, so it is chosen once

Revision ID: 0004_tour_upload
Revises: 0003_workshop_order
"""
from alembic import op
import sqlalchemy as sa



revision = "0004_tour_upload"
down_revision = "0003_workshop_order"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tour_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_tour_upload_user_id_user"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tour_upload")),
        sa.UniqueConstraint("token", name=op.f("uq_tour_upload_token")),
    )
    with op.batch_alter_table("tour_upload", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tour_upload_created_at"), ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("tour_upload", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tour_upload_created_at"))
    op.drop_table("tour_upload")
