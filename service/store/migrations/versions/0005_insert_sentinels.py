"""clients, concerns and outbox: an insert sentinel column, so SQLite takes many new rows in one INSERT

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ('clients', 'concerns', 'outbox')


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column('sentinel', sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('sentinel')
