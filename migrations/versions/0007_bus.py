"""buses: every stop belongs to a bus (existing stops to one default bus), tablets may name theirs

Revision ID: 0007_bus
Revises: 0006_announced_start
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa



revision = "0007_bus"
down_revision = "0006_announced_start"
branch_labels = None
depends_on = None

DEFAULT_BUS_NAME = "Digitalwerkstatt-Bus"


def upgrade():
    bus = op.create_table(
        "bus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("capacity_notes", sa.String(length=300), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bus")),
        sa.UniqueConstraint("name", name=op.f("uq_bus_name")),
    )
    now = datetime.now(timezone.utc)
    op.bulk_insert(bus, [{"id": 1, "name": DEFAULT_BUS_NAME, "capacity_notes": "", "created_at": now}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('bus', 'id'), 1)")
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bus_id", sa.Integer(), nullable=True))
    op.execute("UPDATE stop SET bus_id = 1")
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.alter_column("bus_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f("fk_stop_bus_id_bus"), "bus", ["bus_id"], ["id"])
        batch_op.create_index("ix_stop_bus_id_starts_at", ["bus_id", "starts_at"], unique=False)
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bus_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_device_bus_id_bus"), "bus", ["bus_id"], ["id"],
                                    ondelete="SET NULL")


def downgrade():
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_device_bus_id_bus"), type_="foreignkey")
        batch_op.drop_column("bus_id")
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.drop_index("ix_stop_bus_id_starts_at")
        batch_op.drop_constraint(batch_op.f("fk_stop_bus_id_bus"), type_="foreignkey")
        batch_op.drop_column("bus_id")
    op.drop_table("bus")
