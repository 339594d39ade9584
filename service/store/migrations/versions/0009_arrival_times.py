"""messages and outbox: when the inbound message reached our server, and when the one an acknowledgement
answers did, so that acknowledgement latency is measured from the client's side (issue 18)

Both are NULL for rows stored before, and wherever the mailbox gives no arrival time.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('answers_arrived_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('answers_arrived_at')
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('arrived_at')
