"""The shared field types and the translation of pydantic's errors into ValidationError."""

from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest

from alerting.schemas.common import (
    Body,
    Flag,
    Query,
    QueryFlag,
    ValidationError,
    id_list,
    integer,
    query_integer,
    text,
    timezone_names,
    validate,
)


class Inner(Body):
    WHAT: ClassVar[str] = "an object or null"

    count: integer(0, 10) = 0


class Outer(Body):
    name: text(5)
    on: Flag = True
    ids: id_list() = None
    inner: Inner | None = None
    inners: list[Inner] = []


def fields_of(model, data):
    with pytest.raises(ValidationError) as exc:
        validate(model, data)
    return exc.value.fields


def test_values_are_cleaned():
    body = validate(Outer, {"name": " ab ", "ids": ["x", "x", " y"], "inner": {"count": 3.0}})
    assert (body.name, body.ids, body.inner.count) == ("ab", ["x", "y"], 3)
    assert validate(Outer, {"name": "a", "ids": []}).ids is None  # empty means any: null


@pytest.mark.parametrize(("data", "fields"), [
    ({"name": "a", "on": 1}, {"on": "must be true or false"}),  # no 1 for a bool
    ({"name": "a", "inner": {"count": "5"}}, {"inner.count": "must be an integer from 0 to 10"}),
    ({"name": "a", "inner": {"count": True}}, {"inner.count": "must be an integer from 0 to 10"}),
    ({"name": "a", "inner": {"count": 1.5}}, {"inner.count": "must be an integer from 0 to 10"}),
    ({"name": 5}, {"name": "must be a string"}),
    ({"name": "abcdef"}, {"name": "must be at most 5 characters"}),
    ({"name": "\nabcde"}, {"name": "must be at most 5 characters"}),  # length before strip
    ({"name": "a\x00"}, {"name": "must not contain NUL characters"}),
    ({"name": "\ud800"}, {"name": "must be valid Unicode text"}),
    ({}, {"name": "is required"}),
    ({"name": "a", "colour": 1}, {"colour": "unknown field"}),
    ({"name": "a", "inner": 5}, {"inner": "must be an object or null"}),
    ({"name": "a", "inners": [{}, {"count": 11}]}, {"inners.1.count":
                                                   "must be an integer from 0 to 10"}),
    ({"name": "a", "ids": ["ok", ""]}, {"ids.1": "must not be empty"}),
    ({"name": "a", "k" * 300: 1}, {"k" * 100: "unknown field"}),  # long keys cut short
    ([], {"body": "must be a JSON object"}),
])
def test_refusals_name_the_dotted_path(data, fields):
    assert fields_of(Outer, data) == fields


def test_every_bad_field_at_once():
    assert set(fields_of(Outer, {"name": "", "on": "yes", "inner": {"count": -1}})) == {
        "name", "on", "inner.count"}


class Listing(Query):
    limit: query_integer(1, 100) = 50
    on: QueryFlag | None = None


def test_query_strings():
    assert validate(Listing, {"limit": " 7 ", "on": "FALSE", "utm": "x"}).model_dump() == {
        "limit": 7, "on": False}
    assert validate(Listing, {"limit": "", "on": ""}).model_dump() == {"limit": 50, "on": None}
    for bad in ("+5", "1_0", "٥", "5.0", "0", "101", "9" * 40):
        assert fields_of(Listing, {"limit": bad}) == {"limit": "must be an integer from 1 to 100"}
    assert fields_of(Listing, {"on": "yes"}) == {"on": "must be true or false"}


def test_the_timezones_are_found_once_a_process_and_each_loads():
    names = timezone_names()
    assert timezone_names() is names  # the OpenAPI document of each app asked again
    assert "Europe/Paris" in names and "UTC" in names
    assert all(ZoneInfo(name) for name in names[:50])
