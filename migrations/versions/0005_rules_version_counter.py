"""counters: the rules' version, assigned by the database

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 04:10:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    counters = op.create_table(
        'counters',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_counters')),
    )
    op.bulk_insert(counters, [{'name': 'rules', 'value': 0}])


def downgrade():
    op.drop_table('counters')
