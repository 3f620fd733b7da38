"""Located values: the parse tree both config readers produce.

`yamlsrc` and `jsonsrc` turn text into `Scalar` / `Seq` / `Map` nodes that carry the
1-based line they start on (None where the source has no lines, e.g. inline JSON in
an environment variable), so every validation error can say where it is. This module
only defines the tree and small read-only helpers; it neither parses nor validates.
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass
from typing import Any

from modelsched.config.limits import MAX_VALUES
from modelsched.model.base import escape, lone_surrogate, quote, text_problem


@dataclass(eq=False, slots=True)
class Scalar:
    """A scalar: `value` is the resolved Python value; `text` the raw YAML text (None in JSON)."""

    value: Any
    line: int | None
    text: str | None = None


@dataclass(eq=False, slots=True)
class Seq:
    items: list[Located]
    line: int | None


@dataclass(eq=False, slots=True)
class Map:
    """A mapping with unique keys (the readers report duplicates and keep the first)."""

    pairs: list[tuple[Scalar, Located]]
    line: int | None

    def get(self, key: str) -> tuple[Scalar, Located] | None:
        for k, v in self.pairs:
            if isinstance(k.value, str) and k.value == key:
                return k, v
        return None


Located = Scalar | Seq | Map


def key_text(key: Scalar) -> str:
    """A mapping key as the user wrote it, for messages."""
    if isinstance(key.value, str):
        return quote(key.value)
    return escape(key.text) if key.text is not None else quote(key.value)


def describe(node: Located) -> str:
    """What a value is, for "(got ...)" in messages: `string "2"`, `boolean true`, `a list`."""
    if isinstance(node, Seq):
        return "a list"
    if isinstance(node, Map):
        return "a mapping"
    value = node.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean " + ("true" if value else "false")
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {node.text if node.text is not None else json.dumps(value)}"
    if isinstance(value, str):
        return "string " + quote(value)
    if isinstance(value, datetime.date):
        return f"timestamp {node.text if node.text is not None else value.isoformat()}"
    return f"{type(value).__name__} {escape(node.text) if node.text is not None else escape(repr(value))}"


class NotPlain(ValueError):
    """A value that cannot be passed through as JSON-like data (e.g. a non-string map key)."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class Budget:
    """How many more values one document may expand to (YAML aliases can expand
    exponentially: "billion laughs"). One per document, shared by all its fields."""

    __slots__ = ("left",)

    def __init__(self, limit: int = MAX_VALUES) -> None:
        self.left = limit


def plain(node: Located, path: str, budget: Budget) -> Any:
    """The node as JSON-like Python data (for pass-through maps such as `vars`).

    Map keys must be strings without control characters; numbers must be finite. YAML
    timestamps and other non-JSON scalars become their raw text, so templates and the
    digest only ever see JSON-compatible data. Every value counts against `budget`.
    """
    budget.left -= 1
    if budget.left < 0:
        raise NotPlain(
            node.line, f"{path}: the document is too large (more than {MAX_VALUES} values after expanding aliases)"
        )
    if isinstance(node, Seq):
        return [plain(item, f"{path}[{i}]", budget) for i, item in enumerate(node.items)]
    if isinstance(node, Map):
        result: dict[str, Any] = {}
        for key, value in node.pairs:
            if not isinstance(key.value, str):
                raise NotPlain(key.line, f"{path}: keys must be strings (got {describe(key)})")
            problem = text_problem(key.value)
            if problem is not None:
                raise NotPlain(key.line, f"{path}: key {key_text(key)} {problem}")
            result[key.value] = plain(value, f"{path}.{key.value}", budget)
        return result
    value = node.value
    if isinstance(value, float) and not math.isfinite(value):
        raise NotPlain(node.line, f"{path}: numbers must be finite (got {describe(node)})")
    if isinstance(value, str) and (bad := lone_surrogate(value)) is not None:
        raise NotPlain(node.line, f"{path}: holds the lone surrogate {bad}, which is not text")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return node.text if node.text is not None else str(value)
