"""Located values: the parse tree both config readers produce.

`yamlsrc` and `jsonsrc` turn text into `Scalar` / `Seq` / `Map` nodes that carry the
1-based line they start on (None where the source has no lines, e.g. inline JSON in
an environment variable), so every validation error can say where it is. This module
only defines the tree and small read-only helpers; it neither parses nor validates.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any


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
        return json.dumps(key.value, ensure_ascii=False)
    return key.text if key.text is not None else json.dumps(key.value)


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
        return "string " + json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime.date):
        return f"timestamp {node.text if node.text is not None else value.isoformat()}"
    return f"{type(value).__name__} {node.text if node.text is not None else value!r}"


class NotPlain(ValueError):
    """A value that cannot be passed through as JSON-like data (e.g. a non-string map key)."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


MAX_VALUES = 100_000  # YAML aliases can expand exponentially ("billion laughs")


def plain(node: Located, path: str, budget: list[int] | None = None) -> Any:
    """The node as JSON-like Python data (for pass-through maps such as `vars`).

    Map keys must be strings. YAML timestamps and other non-JSON scalars become their
    raw text, so templates and the digest only ever see JSON-compatible data.
    """
    budget = budget if budget is not None else [MAX_VALUES]
    budget[0] -= 1
    if budget[0] < 0:
        raise NotPlain(node.line, f"{path}: too large (more than {MAX_VALUES} values after expanding aliases)")
    if isinstance(node, Seq):
        return [plain(item, f"{path}[{i}]", budget) for i, item in enumerate(node.items)]
    if isinstance(node, Map):
        result: dict[str, Any] = {}
        for key, value in node.pairs:
            if not isinstance(key.value, str):
                raise NotPlain(key.line, f"{path}: keys must be strings (got {describe(key)})")
            result[key.value] = plain(value, f"{path}.{key.value}", budget)
        return result
    value = node.value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return node.text if node.text is not None else str(value)
