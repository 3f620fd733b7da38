"""The state file's rules for one node and one replica, on plain parsed values (pure).

Every reader (JSON and YAML, fast and general) hands its raw node mappings to `node`,
and its replica names to `check_names`, so a state means the same, and is refused with
the same located message, whatever read it. Apply checks a plan's changes against the
same rules (`check_replica`), so it never writes a replica a reader would refuse.
Must not read files or know about formats beyond "scalars are text" (YAML read with
the BaseLoader gives every scalar as a string).
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

from modelsched.errors import StateError
from modelsched.model.cluster import NODE_STATUSES, Node

NODE_KEYS = ("name", "labels", "status", "eligible", "slots")
MAX_SLOTS = 2**31 - 1
# C0 (newline and tab included: none belongs in a name), DEL, C1, and the bidi overrides
# and isolates, which can make a name read as another on a terminal.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_DIGITS = re.compile(r"[1-9][0-9]{0,9}")
_TRUE = frozenset({"true", "yes", "on"})
_FALSE = frozenset({"false", "no", "off"})

_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxother = 80
_repr.maxlevel = 2
_repr.maxdict = _repr.maxlist = 6


def shown(value: Any) -> str:
    """A bounded repr for messages: a value built from YAML aliases can be huge when
    written out in full; this one never is (control characters come out escaped)."""
    return _repr.repr(value)


def control_char(text: str) -> str | None:
    found = CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def _step(key: str) -> str:
    """A label name as a step of a location (`nodes[3].labels.tier`), escaped if it must be."""
    return key if CONTROL.search(key) is None else shown(key)


def plain_text(value: str, where: str, what: str) -> str:
    bad = control_char(value)
    if bad is not None:
        raise StateError(f"{where}: {what} {shown(value)} contains control character {bad}")
    return value


def _text(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StateError(f"{where}: {what} must be a non-empty string, got {shown(value)}")
    return plain_text(value, where, what)


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise StateError(f"{where}: eligible must be true or false, got {shown(value)}")


def _slots(value: Any, where: str, scalars_are_text: bool) -> int:
    """An int >= 1 (a JSON number; in YAML, a plain decimal such as `2`). Booleans,
    strings in JSON, zero, negatives and anything above 2^31-1 are refused."""
    if type(value) is int and 1 <= value <= MAX_SLOTS:
        return value
    if scalars_are_text and type(value) is str and _DIGITS.fullmatch(value) and int(value) <= MAX_SLOTS:
        return int(value)
    raise StateError(f"{where}: slots must be a whole number from 1 to {MAX_SLOTS}, got {shown(value)}")


def node(raw: Any, where: str, scalars_are_text: bool) -> Node:
    """One entry of `nodes:`; `where` is `cluster state PATH: nodes[3]`."""
    if not isinstance(raw, dict):
        raise StateError(f"{where}: a node must be a mapping with name, labels, status, eligible")
    unknown = sorted(set(raw) - set(NODE_KEYS), key=str)
    if unknown:
        raise StateError(f"{where}: unknown key {shown(unknown[0])} (expected {', '.join(NODE_KEYS)})")
    name = _text(raw.get("name"), where, "name")
    labels = raw.get("labels") or {}
    if not isinstance(labels, dict):
        raise StateError(f"{where}.labels: must be a mapping of label to value")
    for key, value in labels.items():
        if not isinstance(key, str) or not key:
            raise StateError(f"{where}.labels: label names must be non-empty strings, got {shown(key)}")
        if not isinstance(value, str):
            raise StateError(f"{where}.labels.{_step(key)}: label values must be strings, got {shown(value)}")
    # One search over all of them; the per-label search only runs to say which one.
    if labels and CONTROL.search(" ".join([*labels, *labels.values()])):
        for key, value in labels.items():
            plain_text(key, f"{where}.labels", "label name")
            plain_text(value, f"{where}.labels.{_step(key)}", "label value")
    status = raw.get("status", "ready")
    if status not in NODE_STATUSES:
        raise StateError(f"{where}.status: {shown(status)} is not one of {', '.join(NODE_STATUSES)}")
    eligible = _flag(raw.get("eligible", True), f"{where}.eligible")
    slots = _slots(raw.get("slots", 1), f"{where}.slots", scalars_are_text)
    return Node(id=name, name=name, labels=dict(sorted(labels.items())), status=status, eligible=eligible, slots=slots)


def replica_shape_error(raw: Any, where: str) -> StateError:
    return StateError(
        f"{where}: expected {{model: <name>, node: <node name>}} with non-empty strings, got {shown(raw)}"
    )


def is_replica(raw: Any) -> bool:
    if type(raw) is not dict or len(raw) != 2:
        return False
    model, node_name = raw.get("model"), raw.get("node")
    return type(model) is str and type(node_name) is str and bool(model) and bool(node_name)


def check_replica(model: Any, node_name: Any, where: str) -> None:
    """A replica a reader accepts: two non-empty strings without control characters."""
    if not (type(model) is str and type(node_name) is str and model and node_name):
        raise replica_shape_error({"model": model, "node": node_name}, where)
    plain_text(model, where, "model name")
    plain_text(node_name, where, "node name")


def has_control(names: Any) -> bool:
    """Whether any of `names` (distinct strings: a reader checks each name once, not
    once per replica) holds a control character."""
    search = CONTROL.search
    return any(search(name) for name in names)
