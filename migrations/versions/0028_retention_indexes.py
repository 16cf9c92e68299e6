"""Indexes the history's retention reads (services/retention.py): events.received_at,
alert_groups.last_alert_at and deliveries.created_at

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 18:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

INDEXES = (("events", "received_at"), ("alert_groups", "last_alert_at"),
           ("deliveries", "created_at"))


def upgrade():
    for table, column in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def downgrade():
    for table, column in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
