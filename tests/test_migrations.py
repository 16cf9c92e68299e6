"""`flask db upgrade` on an empty database gives exactly the schema the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from alerting import create_app
from alerting.extensions import db
from tests.databases import TempDatabase


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
