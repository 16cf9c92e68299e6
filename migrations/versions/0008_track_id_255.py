"""detections.track_id holds the 255 characters the event schema allows

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 05:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('detections', schema=None) as batch_op:
        batch_op.alter_column('track_id', existing_type=sa.String(length=100),
                              type_=sa.String(length=255), existing_nullable=True)


def downgrade():
    # A longer track_id than 100 characters is cut to fit.
    op.execute("UPDATE detections SET track_id = substr(track_id, 1, 100) "
               "WHERE length(track_id) > 100")
    with op.batch_alter_table('detections', schema=None) as batch_op:
        batch_op.alter_column('track_id', existing_type=sa.String(length=255),
                              type_=sa.String(length=100), existing_nullable=True)
