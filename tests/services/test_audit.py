"""services/audit.py: diff (before -> after, secrets masked) and the client address."""

from datetime import UTC, datetime

from alerting.extensions import db
from alerting.services import audit


def test_diff_names_only_what_changed():
    assert audit.diff({"a": 1, "b": [1, 2], "c": "x"}, {"a": 1, "b": [2], "d": True}) == {
        "b": {"before": [1, 2], "after": [2]},
        "c": {"before": "x", "after": None},
        "d": {"before": None, "after": True}}


def test_diff_masks_secrets_but_says_they_changed():
    changes = audit.diff({"password": "old-one", "url": "a"}, {"password": "new-one", "url": "a"},
                         secret_fields=("password",))
    assert changes == {"password": {"before": "***", "after": "***"}}
    assert audit.diff({"token": None}, {"token": "t"}, secret_fields=["token"]) == {
        "token": {"before": None, "after": "***"}}
    assert audit.diff({"token": "t"}, {"token": "t"}, secret_fields=["token"]) == {}


def test_diff_keeps_to_the_fields_asked_and_stores_plain_json():
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    changes = audit.diff({"at": None, "tags": ("a",), "skip": 1}, {"at": when, "tags": ("b",),
                                                                   "skip": 2},
                         fields=["at", "tags"])
    assert changes == {"at": {"before": None, "after": "2026-01-02T03:04:05Z"},
                       "tags": {"before": ["a"], "after": ["b"]}}


def test_record_takes_the_request_address_and_none_outside_a_request(app):
    with app.test_request_context(environ_base={"REMOTE_ADDR": "198.51.100.4"}):
        entry = audit.record("user:x", "thing_done", "thing", 1,
                             changes={"f": {"before": 1, "after": 2}})
        assert entry.client_address == "198.51.100.4"
        assert entry.details == {"changes": {"f": {"before": 1, "after": 2}}}
        db.session.rollback()
    with app.app_context():
        assert audit.record("cli", "thing_done").client_address is None
        db.session.rollback()
