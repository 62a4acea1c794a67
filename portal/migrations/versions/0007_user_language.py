"""Users choose their interface language (zh, ko, en; empty follows the browser).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user') as batch:
        batch.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False,
                                   server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('user') as batch:
        batch.drop_column('language')
