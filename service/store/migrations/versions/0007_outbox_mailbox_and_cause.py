"""outbox: the mailbox each message went to and the sender whose mail caused it, for the caps on acknowledging

`to_mailbox` is the recipient however written (lower case, no +tag, the organisational
domain), `cause` and `cause_org` the sender an acknowledgement answered and its
organisational domain. Rows written before keep their lower-cased address as their
mailbox, and no cause: the caps' windows are hours long, so those rows leave them soon.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('to_mailbox', sa.String(length=320), nullable=True))
        batch.add_column(sa.Column('cause', sa.String(length=320), nullable=True))
        batch.add_column(sa.Column('cause_org', sa.String(length=255), nullable=True))
    op.execute("update outbox set to_mailbox = lower(to_addr)")
    op.create_index('ix_outbox_mailbox', 'outbox', ['to_mailbox', 'created_at'])
    op.create_index('ix_outbox_cause', 'outbox', ['cause', 'created_at'])
    op.create_index('ix_outbox_cause_org', 'outbox', ['cause_org', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_outbox_cause_org', 'outbox')
    op.drop_index('ix_outbox_cause', 'outbox')
    op.drop_index('ix_outbox_mailbox', 'outbox')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('cause_org')
        batch.drop_column('cause')
        batch.drop_column('to_mailbox')
