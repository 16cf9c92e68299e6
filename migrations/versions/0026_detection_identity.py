"""detections.identity and detections.identity_score (who or what a detector recognised)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('detections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('identity_score', sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table('detections', schema=None) as batch_op:
        batch_op.drop_column('identity_score')
        batch_op.drop_column('identity')
