"""check-ins, opt-outs, events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('events',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('uid', sa.String(length=300), nullable=False),
        sa.Column('client_id', ID, sa.ForeignKey('clients.id'), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('type', sa.String(length=40), nullable=False),
        sa.Column('at', WHEN, nullable=False),
        sa.Column('place', sa.String(length=300), nullable=False),
        sa.Column('checklist', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uid'))
    op.create_index('ix_events_client_id', 'events', ['client_id'])
    with op.batch_alter_table('clients') as batch:
        batch.add_column(sa.Column('opted_out_at', WHEN, nullable=True))
        batch.add_column(sa.Column('opt_out_reason', sa.Text(), nullable=True))
    with op.batch_alter_table('concerns') as batch:
        batch.add_column(sa.Column('last_checkin_at', WHEN, nullable=True))
        batch.add_column(sa.Column('checkins', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('event_id', ID, nullable=True))
        batch.create_foreign_key('fk_messages_event_id', 'events', ['event_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_constraint('fk_messages_event_id', type_='foreignkey')
        batch.drop_column('event_id')
    with op.batch_alter_table('concerns') as batch:
        batch.drop_column('checkins')
        batch.drop_column('last_checkin_at')
    with op.batch_alter_table('clients') as batch:
        batch.drop_column('opt_out_reason')
        batch.drop_column('opted_out_at')
    op.drop_table('events')
