"""integration settings: the MQTT connection and the Frigate instances, editable

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-06 08:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('integration_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mqtt_url_encrypted', sa.Text(), nullable=True),
    sa.Column('mqtt_client_id', sa.String(length=255), nullable=True),
    sa.Column('mqtt_topics', sa.JSON(), nullable=True),
    sa.Column('frigate_instances', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_settings'))
    )


def downgrade():
    op.drop_table('integration_settings')
