"""places typed once and reused by stops; the durable mail outbox

Revision ID: 0002_journey
Revises: 0002_sec
Create Date: 2026-11-29 13:00:00

A stop's place, address and coordinates move into the new `place` table: every distinct (district, place,
address, lat, lon) of the existing stops becomes one place, and the stops point to it. The downgrade copies them
back.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0002_journey'
down_revision = '0002_sec'
branch_labels = None
depends_on = None


def _utc_now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def upgrade():
    op.create_table('place',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('postcode', sa.String(length=10), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('transit_stop', sa.String(length=120), nullable=False),
    sa.Column('transit_lines', sa.String(length=120), nullable=False),
    sa.Column('step_free', sa.Boolean(), nullable=True),
    sa.Column('seats', sa.Boolean(), nullable=True),
    sa.Column('toilet', sa.Boolean(), nullable=True),
    sa.Column('hearing_loop', sa.Boolean(), nullable=True),
    sa.Column('finding_note', sa.String(length=300), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('is_example', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_place_district_id_district')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_place'))
    )
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_place_district_id'), ['district_id'], unique=False)

    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place_id', sa.Integer(), nullable=True))

    _move_places_out_of_stops()

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('workshop', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level', sa.String(length=20), server_default='first_steps', nullable=False))
        batch_op.add_column(sa.Column('bring', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('walk_ins', sa.Boolean(), server_default=sa.true(), nullable=False))

    op.create_table('outgoing_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('waiting', 'sending', 'sent', 'dead', name='mail_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_token', sa.String(length=32), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_outgoing_mail_booking_id_booking'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_mail'))
    )
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.create_index('ix_outgoing_mail_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outgoing_mail_booking_id'), ['booking_id'], unique=False)

    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.alter_column('place_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_stop_place_id'), ['place_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_stop_place_id_place'), 'place', ['place_id'], ['id'])
        batch_op.drop_column('lon')
        batch_op.drop_column('lat')
        batch_op.drop_column('address')
        batch_op.drop_column('place')


def _move_places_out_of_stops():
    conn = op.get_bind()
    stop = sa.table('stop', sa.column('id', sa.Integer), sa.column('district_id', sa.Integer),
                    sa.column('place', sa.String), sa.column('address', sa.String), sa.column('lat', sa.Float),
                    sa.column('lon', sa.Float), sa.column('place_id', sa.Integer))
    place = sa.table('place', sa.column('id', sa.Integer), sa.column('district_id', sa.Integer),
                     sa.column('name', sa.String), sa.column('address', sa.String), sa.column('postcode', sa.String),
                     sa.column('lat', sa.Float), sa.column('lon', sa.Float), sa.column('transit_stop', sa.String),
                     sa.column('transit_lines', sa.String), sa.column('finding_note', sa.String),
                     sa.column('source', sa.String), sa.column('is_example', sa.Boolean),
                     sa.column('created_at', sa.DateTime(timezone=True)),
                     sa.column('updated_at', sa.DateTime(timezone=True)))
    rows = conn.execute(sa.select(stop.c.id, stop.c.district_id, stop.c.place, stop.c.address, stop.c.lat,
                                  stop.c.lon).order_by(stop.c.id)).all()
    made: dict[tuple, int] = {}
    now = _utc_now()
    for stop_id, district_id, name, address, lat, lon in rows:
        key = (district_id, name, address or "", lat, lon)
        if key not in made:
            made[key] = conn.execute(place.insert().values(
                district_id=district_id, name=name, address=address or "", postcode="", lat=lat, lon=lon,
                transit_stop="", transit_lines="", finding_note="", source="", is_example=False,
                created_at=now, updated_at=now,
            ).returning(place.c.id)).scalar_one()
        conn.execute(stop.update().where(stop.c.id == stop_id).values(place_id=made[key]))


def downgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_mail_booking_id'))
        batch_op.drop_index('ix_outgoing_mail_due')

    op.drop_table('outgoing_mail')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')

    with op.batch_alter_table('workshop', schema=None) as batch_op:
        batch_op.drop_column('walk_ins')
        batch_op.drop_column('bring')
        batch_op.drop_column('level')

    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('lon', sa.Float(), nullable=True))

    conn = op.get_bind()
    stop = sa.table('stop', sa.column('place_id', sa.Integer), sa.column('place', sa.String),
                    sa.column('address', sa.String), sa.column('lat', sa.Float), sa.column('lon', sa.Float))
    place = sa.table('place', sa.column('id', sa.Integer), sa.column('name', sa.String),
                     sa.column('address', sa.String), sa.column('lat', sa.Float), sa.column('lon', sa.Float))
    for place_id, name, address, lat, lon in conn.execute(
            sa.select(place.c.id, place.c.name, place.c.address, place.c.lat, place.c.lon)).all():
        conn.execute(stop.update().where(stop.c.place_id == place_id)
                     .values(place=name, address=address, lat=lat, lon=lon))

    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.alter_column('place', existing_type=sa.String(length=160), nullable=False)
        batch_op.alter_column('address', existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_stop_place_id_place'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_stop_place_id'))
        batch_op.drop_column('place_id')

    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_place_district_id'))

    op.drop_table('place')
