"""chases: scheduled notices queued, one row per unique key

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:40:16.907069
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mailbot.adapters.db.orm

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('chases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mailbot.adapters.db.orm.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('chases', schema=None) as batch_op:
        batch_op.create_index('ix_chases_case_kind_due', ['case_id', 'kind', 'due_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('chases', schema=None) as batch_op:
        batch_op.drop_index('ix_chases_case_kind_due')

    op.drop_table('chases')
