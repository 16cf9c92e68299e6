"""webhook and push URLs stored as shown (redacted) plus sealed (encrypted)

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-06 04:10:00.000000

The URLs already stored in clear (rule targets, the default webhook URL, delivery targets)
are redacted in place and their clear form encrypted with the app's secret key, the way the
app stores new ones (alerting/services/notification_targets.py).
"""
import json

import sqlalchemy as sa
from alembic import op

from alerting.notify.redact import redact_url
from alerting.services import secrets_box

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _seal(url):
    shown = redact_url(url)
    return (shown, None) if shown == url else (shown[:2048], secrets_box.encrypt(url))


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def upgrade():
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('targets_sealed', sa.JSON(), nullable=True))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_sealed', sa.Text(), nullable=True))
    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_webhook_url_encrypted', sa.Text(),
                                      nullable=True))

    conn = op.get_bind()
    rules = sa.table('alert_rules', sa.column('id', sa.String), sa.column('targets', sa.JSON),
                     sa.column('targets_sealed', sa.JSON))
    for rule_id, targets in conn.execute(sa.select(rules.c.id, rules.c.targets)).all():
        targets = _json(targets)
        if not targets:
            continue
        sealed = {}
        if targets.get('webhook_url'):
            targets['webhook_url'], sealed['webhook_url'] = _seal(targets['webhook_url'])
        if targets.get('push_urls'):
            pairs = [_seal(u) for u in targets['push_urls']]
            targets['push_urls'] = [shown for shown, _ in pairs]
            sealed['push_urls'] = [token for _, token in pairs]
        if sealed.get('webhook_url') or any(sealed.get('push_urls') or ()):
            conn.execute(rules.update().where(rules.c.id == rule_id)
                         .values(targets=targets, targets_sealed=sealed))

    deliveries = sa.table('deliveries', sa.column('id', sa.Integer),
                          sa.column('channel', sa.String), sa.column('target', sa.String),
                          sa.column('target_sealed', sa.Text))
    rows = conn.execute(sa.select(deliveries.c.id, deliveries.c.target)
                        .where(deliveries.c.channel.in_(('webhook', 'push')))).all()
    for delivery_id, target in rows:
        shown, token = _seal(target)
        if token:
            conn.execute(deliveries.update().where(deliveries.c.id == delivery_id)
                         .values(target=shown, target_sealed=token))

    settings = sa.table('notification_settings', sa.column('id', sa.Integer),
                        sa.column('default_webhook_url', sa.String),
                        sa.column('default_webhook_url_encrypted', sa.Text))
    for row_id, url in conn.execute(sa.select(settings.c.id,
                                              settings.c.default_webhook_url)).all():
        if url:
            shown, token = _seal(url)
            if token:
                conn.execute(settings.update().where(settings.c.id == row_id).values(
                    default_webhook_url=shown, default_webhook_url_encrypted=token))


def downgrade():
    # The clear URLs come back from their sealed form before the columns go.
    conn = op.get_bind()
    deliveries = sa.table('deliveries', sa.column('id', sa.Integer),
                          sa.column('target', sa.String), sa.column('target_sealed', sa.Text))
    for delivery_id, token in conn.execute(sa.select(deliveries.c.id, deliveries.c.target_sealed)
                                           .where(deliveries.c.target_sealed.isnot(None))).all():
        clear = secrets_box.decrypt(token)
        if clear:
            conn.execute(deliveries.update().where(deliveries.c.id == delivery_id)
                         .values(target=clear))
    rules = sa.table('alert_rules', sa.column('id', sa.String), sa.column('targets', sa.JSON),
                     sa.column('targets_sealed', sa.JSON))
    for rule_id, targets, sealed in conn.execute(
            sa.select(rules.c.id, rules.c.targets, rules.c.targets_sealed)
            .where(rules.c.targets_sealed.isnot(None))).all():
        targets, sealed = _json(targets) or {}, _json(sealed) or {}
        if sealed.get('webhook_url'):
            targets['webhook_url'] = secrets_box.decrypt(sealed['webhook_url'])
        if sealed.get('push_urls'):
            targets['push_urls'] = [secrets_box.decrypt(t) if t else u for u, t in
                                    zip(targets.get('push_urls') or [], sealed['push_urls'])]
        conn.execute(rules.update().where(rules.c.id == rule_id).values(targets=targets))
    settings = sa.table('notification_settings', sa.column('id', sa.Integer),
                        sa.column('default_webhook_url', sa.String),
                        sa.column('default_webhook_url_encrypted', sa.Text))
    for row_id, token in conn.execute(sa.select(settings.c.id,
                                                settings.c.default_webhook_url_encrypted)
                                      .where(settings.c.default_webhook_url_encrypted
                                             .isnot(None))).all():
        conn.execute(settings.update().where(settings.c.id == row_id)
                     .values(default_webhook_url=secrets_box.decrypt(token)))

    with op.batch_alter_table('notification_settings', schema=None) as batch_op:
        batch_op.drop_column('default_webhook_url_encrypted')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('target_sealed')
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.drop_column('targets_sealed')
