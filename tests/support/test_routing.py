"""tests/support/routing.py: the test process's apps share their compiled routes, and each
still matches and builds its own URLs."""

from __future__ import annotations

import pytest
from flask import url_for
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, Map, Rule

from tests.support.app import make_app


def _rules(app):
    return {rule.rule: rule for rule in app.url_map.iter_rules()}


def test_two_apps_share_the_parsed_routes_and_each_builds_its_own_urls(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = make_app(tmp_path / "a"), make_app(tmp_path / "b")
    rule = "/api/alerts/<id:alert_id>"
    ones, others = _rules(first)[rule], _rules(second)[rule]
    assert all(one is other for one, other in zip(ones._parts, others._parts, strict=True))
    assert ones._trace is not others._trace  # copies, not one list
    for app, host in ((first, "one.example"), (second, "two.example")):
        with app.test_request_context(base_url=f"http://{host}"):
            url = url_for("api.get_alert", alert_id=7, _external=True)
        assert url == f"http://{host}/api/alerts/7"
        adapter = app.url_map.bind(host)
        assert adapter.match("/api/alerts/7") == ("api.get_alert", {"alert_id": 7})
        with pytest.raises(NotFound):  # the id converter still refuses 0
            adapter.match("/api/alerts/0")


class _Short(IntegerConverter):
    regex = r"\d{1,2}"


def test_a_map_whose_converter_differs_does_not_take_another_maps_parts():
    plain = Map([Rule("/n/<int:value>", endpoint="n")])
    short = Map([Rule("/n/<int:value>", endpoint="n")], converters={"int": _Short})
    assert plain.bind("x").match("/n/123") == ("n", {"value": 123})
    with pytest.raises(NotFound):
        short.bind("x").match("/n/123")
