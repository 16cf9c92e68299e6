"""notification_settings.webhook_allow_cidrs (the allow-list set on the Notifications page)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 11:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_allow_cidrs', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.drop_column('webhook_allow_cidrs')
