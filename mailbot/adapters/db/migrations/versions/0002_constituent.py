"""cases: the constituent an MP writes for

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:31:56.620916
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('constituent_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('constituent_email', sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('constituent_email')
        batch_op.drop_column('constituent_name')
