"""outbox.to_domain, indexed, for the per-domain circuit breaker

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('to_domain', sa.String(length=255), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("update outbox set to_domain = lower(split_part(to_addr, '@', 2))")
    else:
        op.execute("update outbox set to_domain = lower(substr(to_addr, instr(to_addr, '@') + 1))")
    op.create_index('ix_outbox_domain', 'outbox', ['to_domain', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_outbox_domain', 'outbox')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('to_domain')
