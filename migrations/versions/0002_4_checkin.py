"""Staff check-in: registered tablets, check-in records, walk-in seat shares, arrivals and the late-by minutes.

Revision ID: 0002_checkin
Revises: 0002_faults
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0002_checkin'
down_revision = '0002_faults'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_sequence', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_device_created_by_id_user')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['user.id'], name=op.f('fk_device_revoked_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_device_token_hash'))
    )
    op.create_table('seat_share',
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.CheckConstraint('used >= 0 AND used <= seats', name=op.f('ck_seat_share_share_used_within_seats')),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_seat_share_device_id_device')),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshop.id'], name=op.f('fk_seat_share_workshop_id_workshop')),
    sa.PrimaryKeyConstraint('device_id', 'workshop_id', name=op.f('pk_seat_share'))
    )
    op.create_table('check_in',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('acted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('conflict', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('conflict_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_check_in_booking_id_booking')),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_check_in_device_id_device')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_check_in_user_id_user')),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshop.id'], name=op.f('fk_check_in_workshop_id_workshop')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_in')),
    sa.UniqueConstraint('device_id', 'sequence', name='device_sequence'),
    sa.UniqueConstraint('nonce', name=op.f('uq_check_in_nonce'))
    )
    with op.batch_alter_table('check_in', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_in_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_check_in_conflict'), ['conflict'], unique=False)
        batch_op.create_index(batch_op.f('ix_check_in_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_check_in_workshop_id'), ['workshop_id'], unique=False)

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arrived', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('checked_in_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('walk_in', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_booking_checked_in_by_id_user'), 'user', ['checked_in_by_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_booking_arrived_within_party'), 'arrived BETWEEN 0 AND party_size')

    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.add_column(sa.Column('live_minutes_late', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.drop_column('live_minutes_late')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_booking_arrived_within_party'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_booking_checked_in_by_id_user'), type_='foreignkey')
        batch_op.drop_column('walk_in')
        batch_op.drop_column('checked_in_by_id')
        batch_op.drop_column('arrived')

    with op.batch_alter_table('check_in', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_in_workshop_id'))
        batch_op.drop_index(batch_op.f('ix_check_in_device_id'))
        batch_op.drop_index(batch_op.f('ix_check_in_conflict'))
        batch_op.drop_index(batch_op.f('ix_check_in_booking_id'))

    op.drop_table('check_in')
    op.drop_table('seat_share')
    op.drop_table('device')
