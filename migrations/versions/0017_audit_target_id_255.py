"""audit_log.target_id holds the 100-character name of a mute timing (and any id up to 255)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 09:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('target_id', existing_type=sa.String(length=64),
                              type_=sa.String(length=255), existing_nullable=True)


def downgrade():
    # A longer target id than 64 characters is cut to fit.
    op.execute("UPDATE audit_log SET target_id = substr(target_id, 1, 64) "
               "WHERE length(target_id) > 64")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('target_id', existing_type=sa.String(length=255),
                              type_=sa.String(length=64), existing_nullable=True)
