"""Pydantic models: the one source of the API's validation, serialization and OpenAPI
document (DESIGN.md's schemas/)."""
