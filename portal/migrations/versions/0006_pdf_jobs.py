"""PDF jobs: documents rendered off the request by the task queue (queued, running, done, failed).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pdfjob',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('measure_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('short_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('request_json', sa.Text(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('inflight_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['issueddocument.id'], ),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('inflight_key')
    )
    with op.batch_alter_table('pdfjob', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pdfjob_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pdfjob_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_pdfjob_token'), ['token'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('pdfjob', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pdfjob_token'))
        batch_op.drop_index(batch_op.f('ix_pdfjob_state'))
        batch_op.drop_index(batch_op.f('ix_pdfjob_enterprise_id'))

    op.drop_table('pdfjob')
