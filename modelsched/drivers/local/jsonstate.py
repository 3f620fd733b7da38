"""Read a JSON cluster state: msgspec typed decoding, with the standard library as the
exact reader for anything msgspec's types do not take.

Fast path: msgspec decodes the bytes into typed structs (replicas as `{model, node}`
structs of strings, unknown keys refused; nodes as plain mappings for the shared
rules), in C, without a Python call per object. Duplicate keys, which no JSON library
here refuses, are caught by counting: every key in the text ends with `"` then `:`
(maybe with whitespace between) and a string can only add such pairs, so when the text
holds exactly as many as the decoded document has keys, none was dropped. A `:` in a
value (`llama3:8b`) does not count; only a `"` right before one (`"a\\":b"`) can make
the count differ, and then the exact reader decides.

Exact path (any doubt: a syntax error, a type msgspec refused, an empty name, the count
differing): the standard library parses the text and the shared rules report the
first problem, as they do for YAML, or accept the state. Integers longer than 20
digits become a marker the rules refuse by path (never a ValueError), and nesting
too deep for the parser is a located error (never a RecursionError).
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

from modelsched.drivers.local import build
from modelsched.errors import StateError

MAX_DEPTH = 64  # a valid state nests 4 deep (root, nodes, node, labels)
_SPACED_KEY = re.compile(rb'"[ \t\r\n]+:')
# Starts with a literal colon, so the engine jumps from colon to colon.
_WHITESPACE_COLON = re.compile(rb":(?<=[ \t\r\n]:)")
_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class _Replica(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    model: str
    node: str


class _Root(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    nodes: Any = msgspec.UNSET
    replicas: list[_Replica] | msgspec.UnsetType | None = msgspec.UNSET


_DECODER = msgspec.json.Decoder(_Root)


class LongInt:
    """An integer literal too long to be a count: kept as its digit count, refused by the rules."""

    def __init__(self, digits: str) -> None:
        self.digits = len(digits.lstrip("-"))

    def __repr__(self) -> str:
        return f"<integer of {self.digits} digits>"


def _int(text: str) -> int | LongInt:
    return int(text) if len(text) <= 20 else LongInt(text)


def _node_keys(nodes: list[Any]) -> int:
    """Keys in validated nodes: their own and their labels' (the rules allow nothing deeper:
    every node is a mapping, its labels a mapping or an empty value)."""
    labels = [node.get("labels") for node in nodes]
    return sum(map(len, nodes)) + sum(len(each) for each in labels if type(each) is dict)


def _key_ends(data: bytes) -> int:
    """At least the number of keys in the JSON text, exactly that when no string holds `":`."""
    ends = data.count(b'":')
    # A key spaced from its colon has whitespace right before the colon: count those only
    # when some colon has (JSON from json.dumps never does).
    if _WHITESPACE_COLON.search(data):
        ends += len(_SPACED_KEY.findall(data))
    return ends


def read(data: bytes, source: str) -> build.State:
    fast = _read_fast(data, source)
    return fast if fast is not None else read_exact(data, source)[1]


def _read_fast(data: bytes, source: str) -> build.State | None:
    try:
        root = _DECODER.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    raw_nodes = root.nodes if root.nodes is not msgspec.UNSET else None
    replicas = root.replicas if isinstance(root.replicas, list) else []
    grouped: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    group_of = grouped.get
    name_of = names.get
    intern = names.setdefault
    for r in replicas:
        model = r.model
        node = r.node
        if not model or not node:
            return None
        node = name_of(node) or intern(node, node)
        group = group_of(model)
        if group is None:
            grouped[model] = [node]
        else:
            group.append(node)
    # Validated first: `_node_keys` counts on the shape the rules guarantee.
    nodes, known, notices = build.build_nodes(raw_nodes or [], source, names, scalars_are_text=False)
    keys = (root.nodes is not msgspec.UNSET) + (root.replicas is not msgspec.UNSET)
    keys += _node_keys(raw_nodes or []) + 2 * len(replicas)
    if _key_ends(data) != keys:
        return None
    pairs = ((r.model, r.node) for r in replicas)
    return build.finish(nodes, known, notices, grouped, pairs, source)


def _depth_error(text: str, source: str) -> StateError:
    depth = 0
    for found in _BRACKETS.finditer(text):
        token = found.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, found.start()) + 1
                column = found.start() - text.rfind("\n", 0, found.start())
                return StateError(
                    f"cluster state {source}: nesting deeper than {MAX_DEPTH} levels at line {line}, column {column}"
                )
        elif token in "]}":
            depth -= 1
    return StateError(f"cluster state {source}: nesting too deep to read")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        keys = [k for k, _ in pairs]
        dup = next(k for k in keys if keys.count(k) > 1)
        raise StateError(f"duplicate key {dup!r}")
    return result


def parse(text: str, source: str, *, refuse_duplicates: bool) -> dict[str, Any]:
    """The parsed document by the standard library (a mapping with at most nodes and replicas)."""
    hook = _pairs if refuse_duplicates else None
    try:
        doc = json.loads(text, parse_int=_int, object_pairs_hook=hook)
    except StateError as exc:
        raise StateError(f"cluster state {source}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise StateError(
            f"cluster state {source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise _depth_error(text, source) from None
    return build.check_root(doc, source)


def read_exact(data: bytes, source: str) -> tuple[dict[str, Any], build.State]:
    """The document and its state by the standard library and the shared rules: the same
    state the fast path gives where it gives one, and the located error where not."""
    text = build.decode(data, source)
    doc = parse(text, source, refuse_duplicates=False)
    state = build.build_state(doc, source, scalars_are_text=False)
    replicas = doc.get("replicas") or []
    keys = len(doc) + _node_keys(doc.get("nodes") or []) + 2 * len(replicas)
    if _key_ends(data) != keys:
        parse(text, source, refuse_duplicates=True)
    return doc, state
