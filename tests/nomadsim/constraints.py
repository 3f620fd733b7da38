"""Constraint checking of one node against Nomad constraints (NOMAD.md "Constraint").

Owns node-variable interpolation and the operand table. It must not place anything:
the scheduler decides what a failed constraint means. `distinct_hosts` is not a
per-node property, so it is reported here but enforced by the scheduler.
"""

from __future__ import annotations

import re
from typing import Any

_VAR = re.compile(r"^\$\{(.+)\}$")


def node_value(node: dict[str, Any], target: str) -> str | None:
    """Resolve `${node.unique.id}` etc.; a plain string is a literal; None = unset."""
    match = _VAR.match(target or "")
    if match is None:
        return target
    name = match.group(1)
    fixed = {
        "node.unique.id": node["ID"],
        "node.unique.name": node["Name"],
        "node.class": node["NodeClass"],
        "node.pool": node["NodePool"],
        "node.datacenter": node["Datacenter"],
        "node.region": "global",
    }
    if name in fixed:
        return str(fixed[name])
    for prefix, key in (("meta.", "Meta"), ("attr.", "Attributes")):
        if name.startswith(prefix):
            value = (node.get(key) or {}).get(name[len(prefix):])
            return None if value is None else str(value)
    return None


def _items(text: str) -> set[str]:
    # set_contains_* split both sides on commas (NOMAD.md), trimming spaces.
    return {part.strip() for part in text.split(",") if part.strip()}


def is_distinct_hosts(constraint: dict[str, Any]) -> bool:
    # distinct_hosts has no LTarget; RTarget "" or "true" turns it on (NOMAD.md).
    return constraint.get("Operand") == "distinct_hosts" and str(constraint.get("RTarget") or "true") == "true"


def satisfies(node: dict[str, Any], constraint: dict[str, Any]) -> bool:
    operand = constraint.get("Operand") or "="
    if operand == "distinct_hosts":
        return True  # enforced by the scheduler across allocations
    left = node_value(node, str(constraint.get("LTarget") or ""))
    right = node_value(node, str(constraint.get("RTarget") or ""))
    if operand == "is_set":
        return left is not None
    if operand == "is_not_set":
        return left is None
    if left is None or right is None:
        # Nomad: an unresolved target fails every other operand, `!=` included.
        return False
    if operand in ("=", "==", "is"):
        return left == right
    if operand in ("!=", "not"):
        return left != right
    if operand == "set_contains_any":
        return bool(_items(left) & _items(right))
    if operand in ("set_contains", "set_contains_all"):
        return _items(right) <= _items(left)
    if operand == "regexp":
        try:
            return re.search(right, left) is not None
        except re.error:
            return False
    # Simplification: version/semver/lexical operands (<, >=, version, ...) are not modelled.
    return False


def node_constraints(job: dict[str, Any], group: dict[str, Any]) -> list[dict[str, Any]]:
    """All constraints that decide where a group may run: job, group and task level."""
    found = list(job.get("Constraints") or []) + list(group.get("Constraints") or [])
    for task in group.get("Tasks") or []:
        found += list(task.get("Constraints") or [])
    return found


def first_failure(node: dict[str, Any], constraints: list[dict[str, Any]]) -> str | None:
    """The text Nomad would put in ConstraintFiltered for the first unmet constraint."""
    for constraint in constraints:
        if not satisfies(node, constraint):
            return f"{constraint.get('LTarget', '')} {constraint.get('Operand', '=')} {constraint.get('RTarget', '')}"
    return None
