"""Constraint checking of one node, as Nomad's feasibility checker does it.

Follows nomad/scheduler/feasible/feasible.go: `resolveTarget` (node variables),
`checkConstraint` (operand table), `checkSetContainsAll/Any`, `checkOrder` and
`DistinctHostsIterator.hasDistinctHostsConstraint`; datacenter globs follow
`Node.IsInAnyDC` (nomad/structs, go-glob: only `*` is special). It must not place
anything: the scheduler decides what a failed constraint means.
"""

from __future__ import annotations

import re
from typing import Any

_NODE_FIELDS = {
    "${node.unique.id}": "ID", "${node.datacenter}": "Datacenter", "${node.unique.name}": "Name",
    "${node.class}": "NodeClass", "${node.pool}": "NodePool",
}


def resolve_target(node: dict[str, Any], target: str) -> tuple[str, bool]:
    """feasible.go resolveTarget: a literal unless it starts with `${`; unknown variables are unset."""
    if not target.startswith("${"):
        return target, True
    if target in _NODE_FIELDS:
        return str(node[_NODE_FIELDS[target]]), True
    for prefix, key in (("${attr.", "Attributes"), ("${meta.", "Meta")):
        if target.startswith(prefix):
            name = target[len(prefix):].removesuffix("}")
            value = (node.get(key) or {}).get(name)
            return ("", False) if value is None else (str(value), True)
    return "", False


def _parts(text: str) -> list[str]:
    # checkSetContains*: strings.Split on "," and TrimSpace; empty parts are kept.
    return [part.strip() for part in text.split(",")]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _order(operand: str, left: str, right: str) -> bool:
    """checkOrder: integers, then floats, then lexical order."""
    lnum, rnum = _number(left), _number(right)
    a: Any = lnum if lnum is not None and rnum is not None else left
    b: Any = rnum if lnum is not None and rnum is not None else right
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operand])


_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _version(text: str) -> tuple[tuple[int, ...], str] | None:
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    numbers = tuple(int(n) for n in match.group(1).split("."))
    return numbers + (0,) * (3 - len(numbers)), match.group(2) or ""


def version_matches(version: str, constraint: str) -> bool:
    """go-version style constraints (`>= 1.2.0, < 2`, `~> 1.4`); prereleases only match exactly."""
    have = _version(version)
    if have is None:
        return False
    for clause in constraint.split(","):
        match = re.match(r"^\s*(>=|<=|!=|~>|=|>|<)?\s*(\S+)\s*$", clause)
        want = _version(match.group(2)) if match else None
        if match is None or want is None:
            return False
        op = match.group(1) or "="
        if have[1] and have != want:
            return False  # a prerelease version only satisfies a constraint naming it exactly
        left, right = have[0], want[0]
        if op == "~>":
            fixed = len(match.group(2).lstrip("v").split("-")[0].split(".")) - 1
            ok = left >= right and left[:max(fixed, 1)] == right[:max(fixed, 1)]
        else:
            ok = {"=": left == right, "!=": left != right, ">": left > right, "<": left < right,
                  ">=": left >= right, "<=": left <= right}[op]
        if not ok:
            return False
    return True


def check_constraint(operand: str, left: str, right: str, lfound: bool, rfound: bool) -> bool:
    """feasible.go checkConstraint; unset targets resolve to "" (so `!=` on an unset attribute is true)."""
    if operand in ("distinct_hosts", "distinct_property"):
        return True  # enforced across allocations by the scheduler
    if operand in ("=", "==", "is"):
        return lfound and rfound and left == right
    if operand in ("!=", "not"):
        return left != right  # reflect.DeepEqual on the resolved strings, found or not
    if operand in ("<", "<=", ">", ">="):
        return lfound and rfound and _order(operand, left, right)
    if operand == "is_set":
        return lfound
    if operand == "is_not_set":
        return not lfound
    if operand in ("version", "semver"):
        return lfound and rfound and version_matches(left, right)
    if operand == "regexp":
        try:
            return lfound and rfound and re.search(right, left) is not None
        except re.error:
            return False
    if operand in ("set_contains", "set_contains_all"):
        return lfound and rfound and set(_parts(right)) <= set(_parts(left))
    if operand == "set_contains_any":
        return lfound and rfound and bool(set(_parts(right)) & set(_parts(left)))
    return False


def satisfies(node: dict[str, Any], constraint: dict[str, Any]) -> bool:
    """ConstraintChecker.meetsConstraint for one node."""
    left, lfound = resolve_target(node, str(constraint.get("LTarget") or ""))
    right, rfound = resolve_target(node, str(constraint.get("RTarget") or ""))
    return check_constraint(str(constraint.get("Operand") or ""), left, right, lfound, rfound)


def distinct_hosts(constraints: list[dict[str, Any]] | None) -> bool:
    """hasDistinctHostsConstraint: the first distinct_hosts decides; "" or an unparsable RTarget is on."""
    for constraint in constraints or []:
        if constraint.get("Operand") == "distinct_hosts":
            value = str(constraint.get("RTarget") or "")
            if value == "":
                return True
            parsed = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
                      "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
            return parsed.get(value, True)  # strconv.ParseBool error -> still on
    return False


def node_constraints(job: dict[str, Any], group: dict[str, Any]) -> list[dict[str, Any]]:
    """All constraints that decide where a group may run: job, group and task level."""
    found = list(job.get("Constraints") or []) + list(group.get("Constraints") or [])
    for task in group.get("Tasks") or []:
        found += list(task.get("Constraints") or [])
    return found


def first_failure(node: dict[str, Any], constraints: list[dict[str, Any]]) -> str | None:
    """The ConstraintFiltered key Nomad reports for the first unmet constraint (Constraint.String)."""
    for constraint in constraints:
        if not satisfies(node, constraint):
            return f"{constraint.get('LTarget', '')} {constraint.get('Operand', '')} {constraint.get('RTarget', '')}"
    return None


def glob_match(pattern: str, text: str) -> bool:
    """go-glob (ryanuber/go-glob) Glob: `*` is the only wildcard; everything else is literal."""
    if pattern == "*":
        return True
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == text
    if not text.startswith(parts[0]) or not text.endswith(parts[-1]):
        return False
    position = len(parts[0])
    for part in parts[1:-1]:
        found = text.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return position <= len(text) - len(parts[-1])


def in_any_dc(node: dict[str, Any], datacenters: list[str]) -> bool:
    """Node.IsInAnyDC."""
    return any(glob_match(pattern, node["Datacenter"]) for pattern in datacenters)


def in_pool(node: dict[str, Any], pool: str) -> bool:
    """Node.IsInPool: the built-in pool `all` holds every node."""
    return pool == "all" or node["NodePool"] == pool
