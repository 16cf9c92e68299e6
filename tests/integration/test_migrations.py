"""`flask db upgrade` on an empty database gives exactly the schema the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from alerting import create_app
from alerting.extensions import db
from tests.support.databases import TempDatabase


def test_upgrade_from_empty_matches_models(tmp_path):
    database = TempDatabase(tmp_path, "migrations")
    app = create_app({"DATABASE_URL": database.url, "SECRET_KEY": "x",
                      "TESTING": True, "BOOTSTRAP": False})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    database.drop()
    assert diff == []


def test_0006_seals_urls_stored_in_clear_and_downgrade_restores_them(tmp_path):
    """URLs stored in clear before 0006 come out redacted with their secret sealed, and the
    app sends to the clear one; a downgrade puts the clear ones back."""
    from sqlalchemy import select, text
    from sqlalchemy.orm import load_only

    from alerting.models import AlertRule, Delivery, NotificationSettings
    from alerting.services.notification_targets import unseal

    hook = "https://user:pa55word-4e1b@93.184.215.14/hook"
    push = "json://u:t0ken-77aa@93.184.215.14/push"
    database = TempDatabase(tmp_path, "migrations")
    app = create_app({"DATABASE_URL": database.url, "SECRET_KEY": "x",
                      "TESTING": True, "BOOTSTRAP": False})
    try:
        with app.app_context():
            upgrade(revision="0004")
            with db.engine.begin() as conn:
                conn.execute(text(
                    "INSERT INTO alert_rules (id, name, enabled, severity, cooldown_seconds,"
                    " channels, targets, created_at, updated_at) VALUES ('r1', 'r', true,"
                    " 'low', 0, '[\"webhook\"]', :targets, :now, :now)"),
                    {"targets": f'{{"webhook_url": "{hook}", "push_urls": ["{push}", '
                                '"ntfy://t"], "email_recipients": null}',
                     "now": "2026-01-01 00:00:00"})
                conn.execute(text(
                    "INSERT INTO notification_settings (id, notification_enabled, smtp_use_tls,"
                    " smtp_use_ssl, default_email_recipients, default_webhook_url,"
                    " webhook_timeout_seconds, updated_at) VALUES (1, true, false, false, '[]',"
                    " :hook, 30, :now)"), {"hook": hook, "now": "2026-01-01 00:00:00"})
                conn.execute(text(
                    "INSERT INTO events (id, camera_id, started_at, labels, received_at)"
                    " VALUES (1, 'cam', :now, '[]', :now)"), {"now": "2026-01-01 00:00:00"})
                conn.execute(text(
                    "INSERT INTO alerts (id, rule_id, rule_name, event_id, camera_id, severity,"
                    " severity_priority, status, dedup_key, matched_conditions, event_time,"
                    " created_at, updated_at) VALUES (1, 'r1', 'r', 1, 'cam', 'low', 3,"
                    " 'pending', 'k', '[]', :now, :now, :now)"), {"now": "2026-01-01 00:00:00"})
                for i, (channel, target) in enumerate([("webhook", hook), ("push", push),
                                                       ("email", "a@example.com")]):
                    conn.execute(text(
                        "INSERT INTO deliveries (id, alert_id, channel, target, message_id,"
                        " status, attempts, next_attempt_at, created_at) VALUES (:id, 1,"
                        " :channel, :target, :mid, 'pending', 0, :now, :now)"),
                        {"id": i + 1, "channel": channel, "target": target, "mid": f"m{i}",
                         "now": "2026-01-01 00:00:00"})
            upgrade(revision="0006")
            # Only the columns 0006 knows (the model has gained others since).
            rule = db.session.execute(select(AlertRule.targets, AlertRule.targets_sealed)
                                      .where(AlertRule.id == "r1")).one()
            assert rule.targets["webhook_url"] == "https://user:***@93.184.215.14/hook"
            assert rule.targets["push_urls"] == ["json://u:***@93.184.215.14/push", "ntfy://***"]
            assert unseal(rule.targets["webhook_url"], rule.targets_sealed["webhook_url"]) == hook
            assert unseal(rule.targets["push_urls"][0], rule.targets_sealed["push_urls"][0]) \
                == push
            row = db.session.get(NotificationSettings, 1, options=[load_only(
                NotificationSettings.default_webhook_url,
                NotificationSettings.default_webhook_url_encrypted)])
            assert row.default_webhook_url == "https://user:***@93.184.215.14/hook"
            assert unseal(row.default_webhook_url, row.default_webhook_url_encrypted) == hook
            shown = {d.target: unseal(d.target, d.target_sealed)
                     for d in db.session.query(Delivery.target, Delivery.target_sealed)}
            assert shown == {"https://user:***@93.184.215.14/hook": hook,
                             "json://u:***@93.184.215.14/push": push,
                             "a@example.com": "a@example.com"}
            db.session.remove()
            from flask_migrate import downgrade

            downgrade(revision="0004")
            with db.engine.connect() as conn:
                targets = conn.execute(text("SELECT targets FROM alert_rules")).scalar()
                default = conn.execute(text(
                    "SELECT default_webhook_url FROM notification_settings")).scalar()
                delivered = set(conn.execute(text("SELECT target FROM deliveries")).scalars())
            assert hook in str(targets) and push in str(targets) and default == hook
            assert delivered == {hook, push, "a@example.com"}
            db.engine.dispose()
    finally:
        database.drop()
