"""Parse a JSON cluster state and group its replicas in the same pass.

A state of 10^5 replicas parses into as many small dicts. Walking them after the
parse costs more than the parse itself (by then they have left the CPU caches), and
holding them triples peak memory. Here the decoder's object hook takes each
`{model, node}` pair as the decoder completes it, files the node name under its
model (one string object per node name), and leaves a marker in its place, so the
dict is freed at once.

Only a well-formed state takes this path. Any doubt returns None, and the caller
parses the plain way, which reports the problem exactly. Doubts are: a syntax error,
a root that is not a mapping of `nodes`/`replicas`, a replica entry that is not a
pair of non-empty strings, or such a pair anywhere but directly in `replicas`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_TAKEN: Any = object()


@dataclass(frozen=True, slots=True)
class Grouped:
    """The document with every replica entry taken out (`replicas` holds markers only),
    the node names of each model's replicas in file order, and the name objects used."""

    doc: dict[str, Any]
    replicas: dict[str, list[str]]
    names: dict[str, str]


def parse_grouped(text: str) -> Grouped | None:
    grouped: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    group_of = grouped.get
    name_of = names.get
    intern = names.setdefault
    taken = 0

    def take(obj: dict[str, Any]) -> Any:
        nonlocal taken
        if len(obj) == 2:
            model = obj.get("model")
            node = obj.get("node")
            if type(model) is str and type(node) is str and model and node:
                node = name_of(node) or intern(node, node)
                group = group_of(model)
                if group is None:
                    grouped[model] = [node]
                else:
                    group.append(node)
                taken += 1
                return _TAKEN
        return obj

    try:
        doc = json.loads(text, object_hook=take)
    except (ValueError, RecursionError):
        return None
    if type(doc) is not dict or not doc.keys() <= {"nodes", "replicas"}:
        return None
    entries = doc.get("replicas")
    if entries is None:
        entries = []
    # Every pair taken must be an entry of `replicas`, and every entry a taken pair.
    if type(entries) is not list or len(entries) != taken or entries.count(_TAKEN) != taken:
        return None
    return Grouped(doc, grouped, names)
