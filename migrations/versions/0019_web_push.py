"""web push: the VAPID key pair and the browsers' push subscriptions

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('web_push_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('private_key_encrypted', sa.Text(), nullable=False),
    sa.Column('public_key', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_push_keys'))
    )
    op.create_table('web_push_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('endpoint', sa.String(length=2048), nullable=False),
    sa.Column('p256dh', sa.String(length=255), nullable=False),
    sa.Column('auth_encrypted', sa.Text(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('min_severity', sa.String(length=20), nullable=False),
    sa.Column('camera_ids', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_push_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_push_subscriptions')),
    sa.UniqueConstraint('endpoint', name=op.f('uq_web_push_subscriptions_endpoint'))
    )
    with op.batch_alter_table('web_push_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_push_subscriptions_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('web_push_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_push_subscriptions_user_id'))
    op.drop_table('web_push_subscriptions')
    op.drop_table('web_push_keys')
