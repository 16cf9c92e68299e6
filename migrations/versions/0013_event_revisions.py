"""event revisions: events.revision and events.review; one alert per event and rule

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 07:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('review', sa.JSON(), nullable=True))
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('uq_alerts_event_rule', ['event_id', 'rule_id'], unique=True)


def downgrade():
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('uq_alerts_event_rule')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('review')
        batch_op.drop_column('revision')
