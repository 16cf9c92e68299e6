"""YAML in and out for the site configuration, keeping where each value was written.

`load` composes the document (PyYAML's safe composer) and builds the plain value itself, so
that every mapping key and list item has its line: an error found later by the schema
layer at "rules.2.schedule.start_time" is reported at that line of the file. `${VAR}` in a
string is replaced by the environment variable (how secrets are kept out of the file);
`$${` is a literal `${`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from ...engine.errors import ValidationError

Path = tuple[str, ...]
_REFERENCE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Aliases (*name) may repeat a node many times over, or inside itself: the values built
# are bounded, so that a small file cannot expand into a huge (or endless) one.
MAX_VALUES = 200_000
MAX_DEPTH = 64


class _TooLarge(Exception):
    pass


class _KeepStored:
    """What an exported secret reference (`${ALERTING_SMTP_PASSWORD}` at the path the export
    writes it) reads as when its variable is not set: the section keeps what is stored."""

    def __repr__(self) -> str:
        return "KEEP_STORED"


KEEP_STORED: Any = _KeepStored()


class ConfigFileError(ValidationError):
    """A configuration file that cannot be used: each problem by dotted path, with the
    file and line it is at (`located`: "site.yaml:12: rules.0.severity: ...")."""

    def __init__(self, fields: dict[str, str], lines: Mapping[Path, int], source: str):
        super().__init__(fields)
        self.source = source
        self.lines = {path: line_of(lines, path) for path in fields}
        self.located = [
            f"{source}:{self.lines[path]}: {path}: {message}" if self.lines[path]
            else f"{source}: {path}: {message}"
            for path, message in fields.items()
        ]
        self.message = "; ".join(self.located)
        self.args = (self.message,)


def line_of(lines: Mapping[Path, int], dotted: str) -> int | None:
    """The line of a dotted path, or of its nearest ancestor that has one."""
    path = tuple(dotted.split(".")) if dotted and dotted != "body" else ()
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path)


# Said of a reference a file sent over the API or the Config page may not make.
REMOTE_REFERENCE = ("is read from the server's environment only by `flask rules apply` on "
                    "the server; a file sent over the API or the Config page may use ${VAR} "
                    "only where the export writes one (smtp_password, push_urls)")


@dataclass(frozen=True)
class References:
    """How `${VAR}` is read: from `environ`. `kept`: path -> the variable the export writes
    there, which, unset, reads as KEEP_STORED. `remote`: a file sent over the API or the
    Config page, whose references may only be those (any other would hand the server's
    environment, its secret key say, to whoever sent the file: in a description, or in a
    URL to a host of theirs)."""

    environ: Mapping[str, str]
    kept: Mapping[Path, str] = field(default_factory=dict)
    remote: bool = False

    def resolve(self, text: str, path: Path) -> tuple[Any, str | None]:
        """`text` with its references read (`$${` a literal `${`), and the first problem."""
        here = self.kept.get(path)
        if here is not None and text == "${" + here + "}" and here not in self.environ:
            return KEEP_STORED, None
        problems: list[str] = []

        def replace(match: re.Match[str]) -> str:
            if match.group(1):
                return "${" + match.group(2) + "}"
            name = match.group(2)
            if self.remote and name != here:
                problems.append(f"${{{name}}} {REMOTE_REFERENCE}")
                return ""
            if name not in self.environ:
                problems.append(f"the environment variable {name} is not set")
                return ""
            return self.environ[name]

        if "$" not in text:
            return text, None
        return _REFERENCE.sub(replace, text), (problems[0] if problems else None)


class _Builder(SafeConstructor):
    """Builds plain values from composed nodes, noting each path's line (1-based)."""

    def __init__(self, references: References):
        super().__init__()
        self.references = references
        self.lines: dict[Path, int] = {}
        self.problems: dict[str, str] = {}
        self.built = 0

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.built += 1
        if self.built > MAX_VALUES or len(path) > MAX_DEPTH:
            raise _TooLarge
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)  # merge keys (<<) as PyYAML does
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, path + ("<key>",))
                if not isinstance(key, str | int) or isinstance(key, bool):
                    self._problem(path, key_node, "a key must be a string")
                    continue
                key = str(key)
                if key in out:
                    self._problem(path + (key,), key_node, "is given twice")
                    continue
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, path + (key,))
            self.lines.pop(path + ("<key>",), None)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (str(i),)) for i, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:int" and ":" in node.value:
            return node.value  # "22:00" is a time of day, not YAML 1.1's base-60 integer
        if node.tag == "tag:yaml.org,2002:float" and ":" in node.value:
            return node.value
        try:
            value = self.construct_object(node)
        except Exception as exc:  # an unknown tag, or a value its tag does not fit
            problem = getattr(exc, "problem", None) or str(exc) or type(exc).__name__
            self._problem(path, node, f"cannot be read: {problem}")
            return None
        if isinstance(value, str):
            return self._substitute(value, path, node)
        if not isinstance(value, bool | int | float | type(None)):
            return node.value  # dates, timestamps, binary: as written
        return value

    def _substitute(self, text: str, path: Path, node: yaml.Node) -> Any:
        value, problem = self.references.resolve(text, path)
        if problem:
            self._problem(path, node, problem)
        return value

    def _problem(self, path: Path, node: yaml.Node, message: str) -> None:
        dotted = ".".join(path) or "body"
        self.lines[path] = node.start_mark.line + 1  # where the problem is
        self.problems.setdefault(dotted, message)


def substitute(value: Any, source: str = "<config>",
               references: References | None = None) -> Any:
    """A document already parsed (a JSON body) with `${VAR}` read in every string, as
    `load` does for YAML. Raises ConfigFileError naming each path with a problem."""
    references = references or References(os.environ)
    problems: dict[str, str] = {}

    def walk(item: Any, path: Path) -> Any:
        if isinstance(item, str):
            text, problem = references.resolve(item, path)
            if problem:
                problems.setdefault(".".join(path) or "body", problem)
            return text
        if isinstance(item, list):
            return [walk(v, path + (str(i),)) for i, v in enumerate(item)]
        if isinstance(item, dict):
            return {k: walk(v, path + (str(k),)) for k, v in item.items()}
        return item

    resolved = walk(value, ())
    if problems:
        raise ConfigFileError(problems, {}, source)
    return resolved


def load(text: str, source: str = "<config>", references: References | None = None
         ) -> tuple[Any, dict[Path, int]]:
    """The document as plain values and the line of each path. Raises ConfigFileError
    naming the line for a file that is not YAML, a key given twice, or a `${VAR}` that
    cannot be read (see References)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        if mark is not None and "'\\t'" in problem:  # PyYAML's "found character '\\t' ..."
            problem = f"a tab at column {mark.column + 1}: indent and separate with spaces"
        raise ConfigFileError({"body": f"is not valid YAML: {problem}"},
                              {(): line} if line else {}, source) from None
    except RecursionError:
        raise ConfigFileError({"body": f"is nested too deeply (at most {MAX_DEPTH} levels)"},
                              {}, source) from None
    if node is None:
        return {}, {}
    builder = _Builder(references or References(os.environ))
    try:
        value = builder.build(node, ())
    except _TooLarge:
        raise ConfigFileError({"body": f"is too large or too deep once its aliases are "
                                       f"expanded (at most {MAX_VALUES:,} values, "
                                       f"{MAX_DEPTH} levels)"}, {}, source) from None
    if builder.problems:
        raise ConfigFileError(builder.problems, builder.lines, source)
    return value, builder.lines


class _Dumper(yaml.SafeDumper):
    """Block style; multi-line text as a literal block."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(document: Mapping[str, Any]) -> str:
    """The document as YAML, keys in the order given."""
    return yaml.dump(dict(document), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)


def escape(text: str) -> str:
    """A stored string as the file writes it: a literal `${` doubled so it stays literal."""
    return text.replace("${", "$${") if "${" in text else text


def escape_all(value: Any) -> Any:
    """`escape` on every string in a stored value (lists and objects included)."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, list):
        return [escape_all(v) for v in value]
    if isinstance(value, dict):
        return {k: escape_all(v) for k, v in value.items()}
    return value
