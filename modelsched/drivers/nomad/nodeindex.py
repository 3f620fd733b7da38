"""Selectors and job scopes matched over node stubs, once each, in linear time.

Owns three encodings of Nomad rules the plan depends on:

- the server-side node `filter` for a selector's Meta pairs (node Meta is not in the
  stub: NOMAD.md "Nodes"). go-bexpr reads string literals with Go's strconv.Unquote
  after its grammar found the closing quote, so a double-quoted literal cannot hold
  `"` (`\\"` ends the literal: a 400). Every key and value is written as a backtick raw
  string; a value holding a backtick (it would end the literal) or a carriage return
  (Unquote drops it from raw strings, so another value would match) cannot be written
  and is refused, naming the model, before any request;
- the stub fields a selector may name (`node.class`, `node.datacenter`, `node.pool`),
  matched by indexing the stubs once per distinct set of such keys;
- a job's scope (node pool and datacenters): datacenter patterns are go-glob
  (`Node.IsInAnyDC`), where only `*` is special; `?` and `[...]` are literal.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from modelsched.errors import ConfigError

Selector = tuple[tuple[str, str], ...]

# Selector keys that read node stub fields rather than node Meta (NOMAD.md "Nodes").
STUB_KEYS = {"node.class": "NodeClass", "node.datacenter": "Datacenter", "node.pool": "NodePool"}
_UNWRITABLE = {"`": "a backtick (`)", "\r": "a carriage return"}


def unwritable(selector: Mapping[str, str]) -> list[str]:
    """Why a selector's Meta pairs cannot be written as a filter (empty when they can)."""
    problems = []
    for key, value in sorted(selector.items()):
        if key in STUB_KEYS:
            continue
        for ch, name in _UNWRITABLE.items():
            if ch in key:
                problems.append(f"node_selector key {key!r} contains {name}")
            elif ch in value:
                problems.append(f"node_selector value for {key!r} contains {name}")
    return problems


def check_selectors(selectors: Mapping[str, Mapping[str, str]]) -> None:
    """Raise one ConfigError naming every model whose selector Nomad's filter cannot express."""
    problems = [
        f"model {model!r}: {why}, which Nomad's node filter expressions cannot express; "
        "use another label value"
        for model, selector in sorted(selectors.items())
        for why in unwritable(selector)
    ]
    if problems:
        raise ConfigError(problems)


def meta_filter(selector: Mapping[str, str]) -> str | None:
    """Server-side node filter for the selector's Meta pairs (None if it has none):
    ``Meta[`k`] == `v` and ...``, keys sorted. Index syntax keeps any key character out
    of the expression's grammar; raw strings keep any value character but a backtick."""
    pairs = sorted((k, v) for k, v in selector.items() if k not in STUB_KEYS)
    if not pairs:
        return None
    for key, value in pairs:
        if any(ch in key or ch in value for ch in _UNWRITABLE):
            raise ConfigError([f"node_selector {key!r}: {'; '.join(unwritable({key: value}))}"])
    return " and ".join(f"Meta[`{k}`] == `{v}`" for k, v in pairs)


def stub_labels(stub: Mapping[str, Any]) -> tuple[str, str, str]:
    """(node.class, node.datacenter, node.pool) of a stub, in STUB_KEYS order."""
    return (str(stub.get("NodeClass") or ""), str(stub.get("Datacenter") or ""), str(stub.get("NodePool") or ""))


def by_stub_fields(stubs: Sequence[Mapping[str, Any]], selectors: Iterable[Selector]) -> dict[Selector, set[str]]:
    """Selector -> IDs of the stubs that carry its stub-field pairs (every stub when it
    has none). One pass over the stubs builds an index; each selector is a lookup."""
    keys = list(STUB_KEYS)
    every: set[str] | None = None
    index: dict[tuple[str, str, str], set[str]] | None = None
    out: dict[Selector, set[str]] = {}
    for sel in selectors:
        wanted = {k: v for k, v in sel if k in STUB_KEYS}
        if not wanted:
            if every is None:
                every = {str(s["ID"]) for s in stubs}
            out[sel] = every
            continue
        if index is None:
            index = {}
            for s in stubs:
                index.setdefault(stub_labels(s), set()).add(str(s["ID"]))
        found: set[str] = set()
        for labels, ids in index.items():
            if all(labels[keys.index(k)] == v for k, v in wanted.items()):
                found |= ids
        out[sel] = found
    return out


def go_glob(pattern: str, subject: str) -> bool:
    """github.com/ryanuber/go-glob v1.0.0 `Glob`: only `*` is a wildcard."""
    if pattern == "":
        return subject == ""
    if pattern == "*":
        return True
    parts = pattern.split("*")
    if len(parts) == 1:
        return subject == pattern
    leading, trailing = pattern.startswith("*"), pattern.endswith("*")
    end = len(parts) - 1
    for i in range(end):
        idx = subject.find(parts[i])
        if i == 0:
            if not leading and idx != 0:
                return False
        elif idx < 0:
            return False
        subject = subject[idx + len(parts[i]) :]
    return trailing or subject.endswith(parts[end])


def job_scope(stubs: Iterable[Mapping[str, Any]], pool: str, datacenters: Iterable[str]) -> frozenset[str] | None:
    """IDs of the nodes a job in `pool` and `datacenters` can be placed on at all (None:
    every node). Each distinct datacenter is matched once, not once per node."""
    patterns = tuple(datacenters)
    if pool == "all" and "*" in patterns:
        return None
    stubs = list(stubs)
    dcs = {str(s.get("Datacenter") or "") for s in stubs}
    inside = {dc for dc in dcs if any(go_glob(p, dc) for p in patterns)}
    return frozenset(
        str(s["ID"])
        for s in stubs
        if (pool == "all" or s.get("NodePool") == pool) and str(s.get("Datacenter") or "") in inside
    )
