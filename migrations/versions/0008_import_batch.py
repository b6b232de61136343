"""import batches: the stops of one tour import belong together (removable whole), with the file's own values

Revision ID: 0008_import_batch
Revises: 0007_bus
"""
from alembic import op
import sqlalchemy as sa



revision = "0008_import_batch"
down_revision = "0007_bus"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stops", sa.Integer(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("created", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_import_batch_user_id_user"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch")),
    )
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("batch_line", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_stop_batch_id_import_batch"), "import_batch", ["batch_id"], ["id"],
                                    ondelete="SET NULL")
        batch_op.create_index(batch_op.f("ix_stop_batch_id"), ["batch_id"], unique=False)


def downgrade():
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stop_batch_id"))
        batch_op.drop_constraint(batch_op.f("fk_stop_batch_id_import_batch"), type_="foreignkey")
        batch_op.drop_column("batch_line")
        batch_op.drop_column("batch_id")
    op.drop_table("import_batch")
