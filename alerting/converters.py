"""URL converters: `<id:name>` is a database id, a positive integer that fits the id columns, so a
larger number in a URL is a 404 rather than an overflow in the database driver. `<uuid_text:
name>` is a UUID in text (kept a string): `/api/silences/preview` is then only the preview, and
its OPTIONS answer lists only the preview's methods, not those of `/api/silences/<id>`."""

from werkzeug.routing import BaseConverter, IntegerConverter

from .schemas.common import MAX_DB_INT


class IdConverter(IntegerConverter):
    def __init__(self, map, **kwargs):  # noqa: A002 - werkzeug's signature
        super().__init__(map, min=1, max=MAX_DB_INT, **kwargs)


class UuidTextConverter(BaseConverter):
    regex = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    json_schema = {"type": "string", "format": "uuid", "pattern": f"^{regex}$"}
