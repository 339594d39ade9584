"""accounts' hours and contacts, concern history, action items, escalations, digests, jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('domains', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('addresses', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('staff', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('second_level', sa.String(length=320), nullable=True))
        batch.add_column(sa.Column('business_hours', sa.String(length=20), nullable=False,
                                   server_default='09:00-17:00'))
        batch.add_column(sa.Column('business_days', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('digest_time', sa.String(length=5), nullable=False,
                                   server_default='08:30'))
        batch.add_column(sa.Column('source', sa.String(length=10), nullable=False, server_default='cli'))
    op.create_table('concern_events',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('concern_id', ID, sa.ForeignKey('concerns.id'), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('from_status', sa.String(length=20), nullable=True),
        sa.Column('to_status', sa.String(length=20), nullable=True),
        sa.Column('actor', sa.String(length=320), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('at', WHEN, nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_concern_events_concern_id', 'concern_events', ['concern_id'])
    op.create_table('action_items',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('concern_id', ID, sa.ForeignKey('concerns.id'), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('owner', sa.String(length=320), nullable=False),
        sa.Column('due_at', WHEN, nullable=False),
        sa.Column('done_at', WHEN, nullable=True),
        sa.Column('created_by', sa.String(length=320), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_action_items_concern_id', 'action_items', ['concern_id'])
    op.create_table('digests',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('message_id', sa.String(length=255), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_digests_recipient', 'digests', ['recipient'])
    op.create_table('escalations',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('concern_id', ID, sa.ForeignKey('concerns.id'), nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('urgent', sa.Boolean(), nullable=False),
        sa.Column('item_id', ID, sa.ForeignKey('action_items.id'), nullable=True),
        sa.Column('digest_id', ID, sa.ForeignKey('digests.id'), nullable=True),
        sa.Column('created_at', WHEN, nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'))
    op.create_index('ix_escalations_concern_id', 'escalations', ['concern_id'])
    op.create_index('ix_escalations_recipient', 'escalations', ['recipient'])
    op.create_index('ix_escalations_digest_id', 'escalations', ['digest_id'])
    op.create_table('jobs',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('due_at', WHEN, nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('claimed_at', WHEN, nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'))
    op.create_index('ix_jobs_due', 'jobs', ['status', 'due_at'])
    op.create_table('key_values',
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('key'))


def downgrade() -> None:
    for table in ('key_values', 'jobs', 'escalations', 'digests', 'action_items', 'concern_events'):
        op.drop_table(table)
    with op.batch_alter_table('accounts') as batch:
        for column in ('source', 'digest_time', 'business_days', 'business_hours', 'second_level',
                       'staff', 'addresses', 'domains'):
            batch.drop_column(column)
