"""SQLAlchemy's compiled statements, shared by the test process's apps.

An engine keeps the SQL it compiled in a cache keyed by its dialect object, and so does each
mapper for the ORM's flushes; each test's app has an engine and a dialect of its own, so every
test compiled every statement it ran again (an eighth of the fast tier's time). The apps'
dialects of one kind are alike (same class, same server version, same parameter style), so
these caches key by that likeness instead, and a statement compiled for one test's engine
serves the next. An engine's is handed to it as the documented `compiled_cache` execution
option; a mapper's replaces the one it would make. Tests only: a served app has one engine.
"""

from __future__ import annotations

import weakref
from functools import cache
from typing import Any

from sqlalchemy.util import LRUCache

_likeness: weakref.WeakKeyDictionary[Any, tuple[Any, ...]] = weakref.WeakKeyDictionary()


def _alike(dialect: Any) -> tuple[Any, ...]:
    found = _likeness.get(dialect)
    if found is None:
        found = _likeness[dialect] = (type(dialect), dialect.server_version_info,
                                      dialect.paramstyle, dialect.positional)
    return found


class SharedCompiledCache(LRUCache):
    """A compiled cache whose keys name the kind of dialect, not the dialect object."""

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get((_alike(key[0]), *key[1:]), default)

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__((_alike(key[0]), *key[1:]), value)


COMPILED = SharedCompiledCache(5000)


@cache
def share_mapper_caches() -> None:
    """Every mapper's flush statements in a SharedCompiledCache, once a process (make_app
    calls it: the models are imported by then)."""
    from sqlalchemy.orm import configure_mappers

    from alerting.extensions import db

    configure_mappers()
    for mapper in db.Model.registry.mappers:
        mapper._set_memoized_attribute("_compiled_cache", SharedCompiledCache(500))
