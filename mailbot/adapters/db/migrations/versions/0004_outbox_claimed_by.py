"""outbox claims name their sender; sending_at marks the item in flight

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 21:01:47.969972
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mailbot.adapters.db.orm

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('sending_at', mailbot.adapters.db.orm.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('sending_at')
        batch_op.drop_column('claimed_by')
