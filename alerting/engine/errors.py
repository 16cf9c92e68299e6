"""The one error the schemas raise: a map from field name to what is wrong with it."""


class ValidationError(Exception):
    """Input that does not fit a schema. `fields` maps each bad field (dotted path) to a message."""

    def __init__(self, fields: dict[str, str], message: str | None = None):
        self.fields = dict(fields)
        self.message = message or "; ".join(f"{k}: {v}" for k, v in self.fields.items())
        super().__init__(self.message)
