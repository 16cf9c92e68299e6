"""URL converters: `<id:name>` is a database id, a positive integer that fits the id columns, so a
larger number in a URL is a 404 rather than an overflow in the database driver."""

from werkzeug.routing import IntegerConverter

from .schemas.common import MAX_DB_INT


class IdConverter(IntegerConverter):
    def __init__(self, map, **kwargs):  # noqa: A002 - werkzeug's signature
        super().__init__(map, min=1, max=MAX_DB_INT, **kwargs)
