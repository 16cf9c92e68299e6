"""The OpenAPI 3.1 document, generated: operations from the app's routes and what each view
declares with `@operation(...)`, schemas from the pydantic models by pydantic's own JSON
Schema generator (`GenerateJsonSchema.generate_definitions`, one `$defs` for all models,
refs rewritten to `#/components/schemas/`).

Why no spectree or flask-openapi3: both want to own request parsing (their own validation
step, their own 422 body) and flask-openapi3 its own app and blueprint classes; the API's
error body, field paths and VideoDB envelope must stay exactly as they are, and the routes
already validate through schemas/. What they would add over pydantic's generator is the
path walk, which is the forty lines below.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from flask import Flask
from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema
from werkzeug.routing.converters import NumberConverter

from . import responses

Schema = dict[str, Any]
REF = "#/components/schemas/{model}"
SECURED = [{"apiKey": []}, {"bearer": []}]
ERROR_STATUSES = {
    401: "No valid API key", 403: "The key's scope does not allow this",
    404: "Not found", 409: "Conflict with the resource's state",
    413: "Body too large", 414: "Request line too long (the server's limit, before the app)",
    422: "Validation failed (`fields` names each bad field)",
    429: "Rate limited",
}
BLANK: Schema = {"type": "string", "pattern": r"^\s*$"}
TAGS = ("rules", "config", "silences", "events", "alerts", "alert-groups", "deliveries",
        "notification", "keys", "modes", "audit", "health", "cameras", "integrations",
        "webpush", "videodb", "meta")
# A realistic request per request model (by name), shown by /api/docs and sent by the tests.
EXAMPLES = json.loads(Path(__file__).with_name("examples.json").read_text())
# A type: a pydantic model, a TypedDict, or any type pydantic's TypeAdapter takes (or a
# literal JSON Schema dict).
Body = Any


@dataclass(frozen=True)
class Operation:
    """What the document says of one view: its answers by status, its body and query."""

    tag: str
    responses: dict[int, tuple[Body, str]]
    body: Body = None
    body_required: bool = True
    query: Body = None  # a Query model
    errors: tuple[int, ...] = ()
    envelope: bool = False  # VideoDB's {"success": true, "data": ...} and its own errors
    summary: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    also_yaml: bool = False  # the body and the 200 may also be YAML (rules as code)


def operation(tag: str, responses: dict[int, tuple[Body, str]] | None = None, *,
              ok: Body = None, **options: Any) -> Callable:
    """Declare a view's operation next to its route (`ok` is shorthand for a 200)."""
    answers = dict(responses or {})
    if ok is not None:
        answers[200] = (ok, "Success")

    def mark(view: Callable) -> Callable:
        view.openapi = Operation(tag, answers, **options)  # type: ignore[attr-defined]
        return view
    return mark


class _Schemas:
    """Every type the document names, generated in one pass at the end: request bodies in
    pydantic's validation mode (what is accepted), answers in serialization mode."""

    def __init__(self) -> None:
        self.types: dict[tuple[int, str], Any] = {}

    def ref(self, body: Body, mode: str = "serialization") -> Schema:
        if body is None:
            return {}
        if isinstance(body, dict):
            return body
        self.types[(id(body), mode)] = body
        return {"$placeholder": [id(body), mode]}

    def generate(self) -> tuple[dict[tuple[int, str], Schema], dict[str, Schema]]:
        inputs = [(key, key[1], TypeAdapter(kind).core_schema)
                  for key, kind in self.types.items()]
        refs, defs = _Generator(ref_template=REF).generate_definitions(inputs)
        renames = _plain_names(defs)
        defs = {renames.get(name, name): _renamed(schema, renames) for name, schema in defs.items()}
        for name in EXAMPLES.keys() & defs.keys():
            defs[name]["examples"] = [EXAMPLES[name]]
        return {key: _renamed(ref, renames) for (key, _mode), ref in refs.items()}, defs


def _plain_names(defs: dict[str, Schema]) -> dict[str, str]:
    """pydantic names a model whose two modes differ `X-Input` and `X-Output`; the request
    shape keeps the model's name and the answer's is `XResponse`."""
    renames = {}
    for name in defs:
        model = name.removesuffix("-Input")
        if model != name and f"{model}-Output" in defs:
            renames[name] = model
            renames[f"{model}-Output"] = f"{model}Response"
    clash = (set(defs) - set(renames)) & set(renames.values())
    if clash:
        raise RuntimeError(f"two schemas would be named {sorted(clash)}")
    return renames


def _renamed(node: Any, renames: dict[str, str]) -> Any:
    """`node` with its `$ref`s to renamed schemas following them."""
    if isinstance(node, list):
        return [_renamed(item, renames) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF.format(model="")):
        name = ref.removeprefix(REF.format(model=""))
        node = {**node, "$ref": REF.format(model=renames.get(name, name))}
    return {key: _renamed(value, renames) if key != "$ref" else value
            for key, value in node.items()}


class _Generator(GenerateJsonSchema):
    """pydantic's generator, without a `default: null` on a field that cannot be null: a
    partial model (RuleUpdate) defaults every field to None to tell "not sent" apart, and
    a document's defaults must be valid values."""

    def default_schema(self, schema: Any) -> Schema:
        result = super().default_schema(schema)
        if result.get("default", ...) is None and not _allows_null(result):
            del result["default"]
        return result


def _allows_null(schema: Schema) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_allows_null(s) for s in [*schema.get("anyOf", ()), *schema.get("oneOf", ())])


def _not_null(schema: Schema) -> Schema:
    """A query argument's schema without JSON null (a query string has none: absent is the
    Query model's None)."""
    options = [o for o in schema.get("anyOf", ()) if o.get("type") != "null"]
    if len(options) == 1 and len(schema.get("anyOf", ())) == 2:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        return {**rest, **options[0]}
    return {k: v for k, v in schema.items() if not (k == "default" and v is None)}


def query_parameters(model: Any) -> list[Schema]:
    """A query model's fields as query parameters (one key=value each). A Query model takes
    a blank value as an absent argument, so each parameter also allows a blank string."""
    schema = TypeAdapter(model).json_schema(mode="validation", ref_template=REF)
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        param: Schema = {"name": name, "in": "query", "required": name in required,
                         "style": "form", "explode": False,
                         "schema": {"anyOf": [_not_null(prop), BLANK]}}
        if "description" in prop:
            param["description"] = prop["description"]
        params.append(param)
    return params


def _resolve(node: Any, refs: dict[tuple[int, str], Schema]) -> Any:
    if isinstance(node, dict):
        if "$placeholder" in node:
            return refs[tuple(node["$placeholder"])]
        return {k: _resolve(v, refs) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, refs) for v in node]
    return node


def _path_params(rule: Any) -> tuple[str, list[Schema]]:
    """/api/alerts/<id:alert_id> -> /api/alerts/{alert_id} and its parameters, typed by
    the rule's converters (an integer converter's bounds are the schema's)."""
    params = []
    for name in re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule.rule):
        converter = rule._converters[name]
        if getattr(converter, "json_schema", None):
            schema = dict(converter.json_schema)
        elif isinstance(converter, NumberConverter):
            schema = {"type": "integer", "minimum": converter.min or 0,
                      "maximum": converter.max}
        else:
            schema = {"type": "string", "pattern": "^[^/]+$"}
            bounded = re.fullmatch(r"\[\^/\]\{(\d+),(\d+)\}", converter.regex)
            if bounded:  # string(maxlength=N)
                schema["maxLength"] = int(bounded.group(2))
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), params


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(view: Callable, op: Operation, params: list[Schema],
               schemas: _Schemas) -> Schema:
    doc = (view.__doc__ or "").strip().split("\n")[0].rstrip(".")
    out: Schema = {"summary": op.summary or doc or view.__name__, "tags": [op.tag],
                   "responses": {}}
    if op.query is not None:
        params = params + query_parameters(op.query)
    if params:
        out["parameters"] = params
    if op.body is not None:
        media = {"schema": schemas.ref(op.body, "validation")}
        for kind in get_args(op.body) or (op.body,):  # a union: its first member's example
            if getattr(kind, "__name__", None) in EXAMPLES:
                media["example"] = EXAMPLES[kind.__name__]
                break
        out["requestBody"] = {"required": op.body_required,
                              "content": {"application/json": media}}
        if op.also_yaml:  # a YAML document parses to the same structure as the JSON one
            out["requestBody"]["content"]["application/yaml"] = {"schema": media["schema"]}
    for status, (body, description) in op.responses.items():
        if body is None:
            out["responses"][str(status)] = {"description": description}
            continue
        schema = schemas.ref(body)
        if op.envelope:
            schema = {"type": "object", "additionalProperties": False,
                      "required": ["success", "data"],
                      "properties": {"success": {"const": True}, "data": schema}}
        out["responses"][str(status)] = _json(schema, description)
        if op.also_yaml and status == 200 and op.body is None:
            out["responses"]["200"]["content"]["application/yaml"] = {"schema": schema}
    statuses = {*op.errors, 414}
    public = getattr(view, "public", False)
    out["security"] = [] if public else SECURED
    if not public:
        statuses |= {401, 403}
    if op.body is not None:
        statuses |= {413, 422}
    error = schemas.ref(responses.VideoDBError if op.envelope else responses.Error)
    for status in sorted(statuses):
        # gunicorn answers 414 before any blueprint, so in the API's format everywhere.
        body = schemas.ref(responses.Error) if status == 414 else error
        out["responses"][str(status)] = _json(body, ERROR_STATUSES[status])
    scope = getattr(view, "required_scope", None)
    if scope:
        out["x-required-scope"] = scope
    return {**out, **op.extra}


def build(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route whose view declares an operation."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Schema]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        op = getattr(view, "openapi", None)
        if op is None:
            continue
        path, params = _path_params(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(view, op, params, schemas)
    refs, defs = schemas.generate()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "alerting",
            "version": "0.1.0",
            "description": "Self-hosted alert engine for camera detection events. Every "
                           "operation needs an API key (x-access-token or Authorization: "
                           "Bearer) unless its security is empty. Reads need scope `read`, "
                           "changes `admin`, POST /api/events `ingest` (`admin` may do all).",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": name} for name in TAGS],
        "paths": _resolve(paths, refs),
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-access-token"},
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "The same API key as a bearer token"},
            },
        },
    }
