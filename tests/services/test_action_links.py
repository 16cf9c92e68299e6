"""Action links (services/action_links.py): signed, expiring, one-use tokens that acknowledge
or snooze an alert; tampered, expired, reused ones do nothing."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from alerting.errors import ApiError
from alerting.extensions import db
from alerting.models import Alert, AuditLog, Silence, UsedActionToken
from alerting.services import action_links
from tests.support.app import make_app, make_key
from tests.support.audit import new_alert


@pytest.fixture
def alert_id(app):
    return new_alert(app, app.test_client(), {"x-access-token": make_key(app, "admin")})


UNTOUCHED = ("delivered", 0, 0)  # a rule with no channels: delivered at once


def state(app, alert_id):
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        return (alert.status, db.session.scalar(select(db.func.count()).select_from(Silence)),
                db.session.scalar(select(db.func.count()).select_from(UsedActionToken)))


def token(app, action, alert_id):
    with app.app_context():
        return action_links.issue(action, alert_id)


def act(app, value):
    with app.test_request_context(method="POST"):
        return action_links.act(value)


def refused(app, value) -> ApiError:
    with app.test_request_context(method="POST"), pytest.raises(ApiError) as caught:
        action_links.act(value)
    return caught.value


def test_acknowledge_acts_once_and_is_audited(app, alert_id):
    value = token(app, "acknowledge", alert_id)
    link, done = act(app, value)
    assert (link.action, link.alert_id) == ("acknowledge", alert_id)
    assert done == f"Alert #{alert_id} acknowledged."
    assert state(app, alert_id) == ("acknowledged", 0, 1)
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        assert alert.acknowledged_by == "action link"
        use = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "action_link_use")).one()
        assert use.actor == "action link" and use.target_id == str(alert_id)
        assert use.details == {"action": "acknowledge", "alert_id": alert_id,
                               "token_id": link.token_id}
        # The acknowledge itself is the service's own entry, as from the page or the API.
        ack = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "alert_acknowledge")).one()
        assert ack.actor == "action link"
    error = refused(app, value)
    assert (error.status, error.code) == (409, "link_used")
    assert state(app, alert_id) == ("acknowledged", 0, 1)


@pytest.mark.parametrize("action, field, value, minutes", [
    ("snooze_camera", "camera_id", "back-door", 30),
    ("snooze_rule", "rule_id", None, 60),
])
def test_snooze_makes_the_silence_with_its_matchers_and_duration(app, alert_id, action, field,
                                                                 value, minutes):
    link = token(app, action, alert_id)
    _link, done = act(app, link)
    assert "snoozed" in done
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        [silence] = db.session.scalars(select(Silence)).all()
        expected = value or alert.rule_id
        assert silence.matchers == [{"field": field, "op": "=", "value": expected}]
        assert silence.ends_at - silence.starts_at == timedelta(minutes=minutes)
        assert silence.created_by == "action link"
        assert alert.status != "acknowledged"  # a snooze does not acknowledge
    assert refused(app, link).status == 409  # used: no second silence
    assert state(app, alert_id)[1] == 1


def test_tampered_tokens_do_nothing(app, alert_id):
    value = token(app, "snooze_camera", alert_id)
    payload, _, rest = value.partition(".")
    other = token(app, "acknowledge", alert_id).partition(".")[0]
    for bad in (value[:-2] + ("AA" if not value.endswith("AA") else "BB"),  # signature
                other + "." + rest,  # another payload under this signature
                value[:20], "not-a-token", ""):
        error = refused(app, bad)
        assert (error.status, error.code) == (400, "invalid_link"), bad
    # Signed with a key this server never had:
    forged = URLSafeTimedSerializer("another-key", salt=action_links.SALT).dumps(
        ["acknowledge", alert_id, "x"])
    assert refused(app, forged).status == 400
    # Ours, but not a payload we make:
    with app.app_context():
        odd = action_links._serializer().dumps(["delete_everything", alert_id, "x"])
    assert refused(app, odd).status == 400
    assert state(app, alert_id) == UNTOUCHED


def test_expired_tokens_do_nothing(app, alert_id, monkeypatch):
    import itsdangerous.timed

    lifetime = app.config["ACTION_LINK_SECONDS"]
    signed_at = time.time() - lifetime - 5
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: signed_at)
    value = token(app, "acknowledge", alert_id)
    monkeypatch.undo()
    error = refused(app, value)
    assert (error.status, error.code) == (410, "link_expired")
    assert state(app, alert_id) == UNTOUCHED


def test_check_reads_without_acting(app, alert_id):
    value = token(app, "acknowledge", alert_id)
    with app.app_context():
        for _ in range(3):
            assert action_links.check(value).action == "acknowledge"
    assert state(app, alert_id) == UNTOUCHED


def test_a_refused_change_leaves_the_link_unused(app, alert_id, admin_headers):
    app.test_client().post(f"/api/alerts/{alert_id}/acknowledge", headers=admin_headers)
    value = token(app, "acknowledge", alert_id)
    error = refused(app, value)
    assert error.status == 409 and "acknowledged" in error.message
    assert state(app, alert_id) == ("acknowledged", 0, 0)
    with app.app_context():
        assert not db.session.scalars(select(AuditLog).where(
            AuditLog.action == "action_link_use")).all()


def test_tokens_signed_with_an_old_key_still_act_after_rotation(tmp_path):
    old = make_app(tmp_path, SECRET_KEY="the-old-key")
    alert_id = new_alert(old, old.test_client(), {"x-access-token": make_key(old, "admin")})
    value = token(old, "acknowledge", alert_id)
    rotated = make_app(tmp_path, SECRET_KEY="the-new-key", DATABASE_URL=old.config["DATABASE_URL"],
                       SECRET_KEY_FALLBACKS=["the-old-key"])
    forgotten = make_app(tmp_path, SECRET_KEY="the-new-key",
                         DATABASE_URL=old.config["DATABASE_URL"])
    assert refused(forgotten, value).status == 400  # without the fallback: not ours
    link, _done = act(rotated, value)
    assert link.alert_id == alert_id and state(rotated, alert_id)[0] == "acknowledged"
    # New links are signed with the new key only.
    fresh = token(rotated, "snooze_camera", alert_id)
    assert refused(old, fresh).status == 400


def test_links_for_alert(app, alert_id):
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        assert action_links.links_for_alert(alert, None) == {}
        links = action_links.links_for_alert(alert, "https://alerts.example.com/")
        assert list(links) == ["open", "acknowledge", "snooze_camera", "snooze_rule"]
        assert links["open"] == f"https://alerts.example.com/alerts/{alert_id}"
        for action in ("acknowledge", "snooze_camera", "snooze_rule"):
            prefix = "https://alerts.example.com/actions/"
            assert links[action].startswith(prefix)
            read = action_links.read(links[action].removeprefix(prefix))
            assert (read.action, read.alert_id) == (action, alert_id)
        ids = {action_links.read(url.rpartition("/")[2]).token_id
               for name, url in links.items() if name != "open"}
        assert len(ids) == 3  # each link is its own
        alert.rule_id = None
        assert "snooze_rule" not in action_links.links_for_alert(alert, "https://a.example")


def grouped_alerts(app, headers, n=3) -> tuple[int, list[int]]:
    """A rule that groups by camera and n events it matches: the group and its alerts."""
    from alerting.models import AlertGroup
    from tests.support.factories import create_rule, post_event, run_matcher

    client = app.test_client()
    create_rule(client, headers, channels=["email"], group_by=["camera_id"], group_wait=5,
                targets={"email_recipients": ["me@example.com"]})
    for i in range(n):
        post_event(client, headers, external_id=f"g-{i}", source="t")
    run_matcher(app)
    with app.app_context():
        group_id = db.session.scalars(select(AlertGroup.id)).one()
        return group_id, list(db.session.scalars(
            select(Alert.id).where(Alert.group_id == group_id).order_by(Alert.id)))


def statuses(app, ids):
    with app.app_context():
        return [db.session.get(Alert, i).status for i in ids]


def test_acknowledge_group_acknowledges_its_open_alerts_once_and_is_audited(app,
                                                                            admin_headers):
    group_id, ids = grouped_alerts(app, admin_headers)
    # one of them was acknowledged already: the others are
    app.test_client().post(f"/api/alerts/{ids[0]}/acknowledge", headers=admin_headers)
    value = token(app, "acknowledge_group", group_id)
    link, done = act(app, value)
    assert (link.action, link.group_id) == ("acknowledge_group", group_id)
    assert done == f"2 alerts of group #{group_id} acknowledged."
    assert statuses(app, ids) == ["acknowledged"] * 3
    with app.app_context():
        assert [db.session.get(Alert, i).acknowledged_by for i in ids] == [
            "key:test-admin", "action link", "action link"]
        use = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "action_link_use")).one()
        assert (use.actor, use.target_type, use.target_id) == (
            "action link", "alert_group", str(group_id))
        assert use.details == {"action": "acknowledge_group", "alert_group_id": group_id,
                               "token_id": link.token_id}
        acks = db.session.scalars(select(AuditLog.target_id).where(
            AuditLog.action == "alert_acknowledge", AuditLog.actor == "action link")).all()
        assert sorted(acks) == sorted(str(i) for i in ids[1:])
    error = refused(app, value)
    assert (error.status, error.code) == (409, "link_used")


def test_acknowledge_group_with_nothing_open_leaves_the_link_unused(app, admin_headers):
    group_id, ids = grouped_alerts(app, admin_headers, n=1)
    app.test_client().post(f"/api/alerts/{ids[0]}/acknowledge", headers=admin_headers)
    value = token(app, "acknowledge_group", group_id)
    error = refused(app, value)
    assert error.status == 409 and "no open alert" in error.message
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(UsedActionToken)) == 0


def test_links_for_group(app, admin_headers):
    group_id, _ids = grouped_alerts(app, admin_headers, n=1)
    with app.test_request_context():
        assert action_links.links_for_group(group_id, None) == {}
        links = action_links.links_for_group(group_id, "https://alerts.example.com")
        [(name, url)] = links.items()
        assert name == "acknowledge_group"
        read = action_links.read(url.removeprefix("https://alerts.example.com/actions/"))
        assert (read.action, read.group_id) == ("acknowledge_group", group_id)
    # the confirmation page names the group; GET does nothing
    page = app.test_client().get(url.removeprefix("https://alerts.example.com"))
    assert page.status_code == 200
    assert f"Group #{group_id}" in page.text and "Acknowledge every alert of the group" in \
        page.text
    done = app.test_client().post(url.removeprefix("https://alerts.example.com"))
    assert done.status_code == 200 and "1 alert of group" in done.text
    assert f"/alerts/groups/{group_id}" in done.text


def used_at(app):
    with app.app_context():
        return db.session.scalar(select(UsedActionToken.used_at))


def test_a_used_token_is_remembered_while_it_could_still_act(app, alert_id):
    value = token(app, "acknowledge", alert_id)
    act(app, value)
    lifetime = timedelta(seconds=app.config["ACTION_LINK_SECONDS"])
    with app.app_context():
        # The token was signed at its use at the latest: valid until a lifetime after it.
        assert action_links.prune_used(used_at(app) + lifetime) == 0
    assert state(app, alert_id) == ("acknowledged", 0, 1)
    error = refused(app, value)
    assert (error.status, error.code) == (409, "link_used")


def test_a_used_token_is_forgotten_once_expired_in_batches(app, alert_id, monkeypatch):
    import itsdangerous.timed

    values = [token(app, "acknowledge", alert_id), token(app, "snooze_camera", alert_id),
              token(app, "snooze_rule", alert_id)]
    for value in values:
        act(app, value)
    assert state(app, alert_id)[2] == 3
    with app.app_context():
        newest = db.session.scalar(select(db.func.max(UsedActionToken.used_at)))
    later = newest + timedelta(seconds=app.config["ACTION_LINK_SECONDS"] + 1
                               + action_links.PRUNE_MARGIN_SECONDS + 1)
    with app.app_context():
        assert action_links.prune_used(later, limit=2) == 2
        assert action_links.prune_used(later, limit=2) == 1
        assert action_links.prune_used(later) == 0
    assert state(app, alert_id)[2] == 0
    # By then the links read as expired: forgotten, they still cannot act again.
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later.timestamp())
    for value in values:
        assert refused(app, value).status == 410
