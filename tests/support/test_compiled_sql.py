"""tests/support/compiled_sql.py: a statement compiled for one test app's engine serves the
next app's, for plain statements and for the ORM's flushes."""

from __future__ import annotations

from sqlalchemy import select

from alerting.extensions import db
from alerting.models import ApiKey
from tests.support.app import make_app, make_key
from tests.support.compiled_sql import COMPILED, SharedCompiledCache


def test_the_next_apps_engine_finds_the_statement_compiled(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    statement = select(ApiKey.id).where(ApiKey.name == "compiled-once")
    hits = []
    for folder in ("a", "b"):
        with make_app(tmp_path / folder).app_context():
            result = db.session.connection().execute(statement)
            hits.append(result.context.cache_hit == db.engine.dialect.CACHE_HIT)
            assert db.engine.get_execution_options()["compiled_cache"] is COMPILED
    assert hits[1], "the second app compiled the statement again"


def test_the_orm_flushes_share_their_mappers_statements(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = make_app(tmp_path / "a"), make_app(tmp_path / "b")
    cache = ApiKey.__mapper__._compiled_cache
    assert isinstance(cache, SharedCompiledCache)
    make_key(first, "read", name="first")
    known = len(cache)
    make_key(second, "read", name="second")
    assert len(cache) == known, "the second app's flush compiled its INSERT again"
