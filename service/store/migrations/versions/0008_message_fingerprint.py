"""messages: a content fingerprint; a message is unique by Message-ID and content, not Message-ID alone

A different message that reuses a Message-ID is stored as a new message; the same message
delivered twice is still refused by the unique pair. Rows stored before have no fingerprint
(NULL): a message of their Message-ID is taken as the same one.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's unique constraint of 0001 has no name: batch mode reflects it by this convention
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_PAIR = 'uq_messages_message_id_fingerprint'


def _old_unique() -> str:
    return 'messages_message_id_key' if op.get_bind().dialect.name == 'postgresql' else 'uq_messages_message_id'


def upgrade() -> None:
    with op.batch_alter_table('messages', naming_convention=_NAMING) as batch:
        batch.add_column(sa.Column('fingerprint', sa.String(length=64), nullable=True))
        batch.drop_constraint(_old_unique(), type_='unique')
        batch.create_unique_constraint(_PAIR, ['message_id', 'fingerprint'])


def downgrade() -> None:
    with op.batch_alter_table('messages', naming_convention=_NAMING) as batch:
        batch.drop_constraint(_PAIR, type_='unique')
        batch.create_unique_constraint(_old_unique(), ['message_id'])
        batch.drop_column('fingerprint')
