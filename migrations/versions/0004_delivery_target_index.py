"""delivery due index by target

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 15:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_due_target', ['status', 'target', 'next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_due_target')
