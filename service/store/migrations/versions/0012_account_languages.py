"""accounts: the language clients are written in when theirs has no templates, and the owner's (issue 19)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=False, server_default='en'))
        batch.add_column(sa.Column('owner_language', sa.String(length=8), nullable=False, server_default='en'))


def downgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('owner_language')
        batch.drop_column('language')
