"""Pydantic models for every request body and query string: the one place a field is declared.

`common` holds the base model, the shared `Annotated` field types and `validate`, which turns
pydantic's errors into the project's ValidationError (`{"<dotted.path>": "message"}`).
"""

from .common import ValidationError, validate

__all__ = ["ValidationError", "validate"]
