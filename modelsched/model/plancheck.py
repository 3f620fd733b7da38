"""A saved plan is untrusted input: everything beyond its JSON schema that must hold before use.

`parse_bounded` reads the JSON refusing duplicate keys, over-long integers, NaN and
Infinity and runaway nesting; `schema_problems` turns pydantic's errors into one
located message; `check_plan` checks every name with the config's own rule
(`model.base.name_problem`), node IDs (safe in a request path for drivers that put
them in one), Nomad job IDs (`model.jobname`), free text, the summary against the
changes and operations, targets, `observed_nodes`, `nodes`, and the bounds of `driver_data`
(whose meaning the driver decodes itself). Raises PlanFileError; never reads files.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from modelsched.errors import PlanFileError
from modelsched.model.base import MAX_DEPTH, MAX_INT_DIGITS, control_character, quote
from modelsched.model.base import name_problem as _name_problem
from modelsched.model.base import text_problem as _text_problem
from modelsched.model.jobname import is_job_id

if TYPE_CHECKING:
    from modelsched.model.plan import Plan

SHOWN = 5  # problems listed in the message before "and N more"
# driver_data nests inside the plan: what is left of MAX_DEPTH.
DRIVER_DATA_DEPTH = MAX_DEPTH - 2
MAX_TEXT = 64 * 1024  # one line of display text (notes, messages, diff lines)
MAX_PATH = 4096  # cluster values: a state file path, an address
# A node ID as drivers that put it in a request path use it (Nomad: a UUID): no `/`,
# `?`, `#`, `%`, no leading dot (so never `.` or `..`).
NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,254}")
DIGEST = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._+/=-]{0,199}")
SHORT_HASH = re.compile(r"[0-9a-f]{1,64}")
# Drivers whose node IDs are plain names that never reach a URL.
NAME_ID_DRIVERS = frozenset({"local"})
_FREE_TEXT_ALLOWED = frozenset("\n\t")

Problem = tuple[str, str]  # (location, what is wrong)

# Model names and labels repeat across the ~10^5 changes of a large plan: check each once.
name_problem = lru_cache(maxsize=1 << 16)(_name_problem)
text_problem = lru_cache(maxsize=1 << 16)(_text_problem)


class _Refused(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"duplicate key {quote(key)}")
            seen.add(key)
    return out


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"integer too long (more than {MAX_INT_DIGITS} digits): {text[:MAX_INT_DIGITS]}...")
    return int(text)


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def parse_bounded(text: str, source: str) -> Any:
    """The JSON value of a plan file, or PlanFileError (no traceback, no unbounded work)."""
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_int=_int, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            f"{source}: not a modelsched plan file (invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except _Refused as exc:
        raise PlanFileError(f"{source}: corrupt plan file: {exc}") from None
    except RecursionError:
        raise PlanFileError(f"{source}: corrupt plan file: nested deeper than {MAX_DEPTH} levels") from None


def _loc(parts: tuple[int | str, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _raise(problems: list[Problem], source: str) -> None:
    if not problems:
        return
    shown = "; ".join(f"{where}: {what}" if where else what for where, what in problems[:SHOWN])
    more = f" (and {len(problems) - SHOWN} more problems)" if len(problems) > SHOWN else ""
    raise PlanFileError(f"{source}: corrupt plan file: {shown}{more}")


def schema_problems(exc: ValidationError, source: str) -> PlanFileError:
    """pydantic's errors as one located PlanFileError (data quoted safely, never echoed raw)."""
    problems: list[Problem] = []
    for err in exc.errors(include_url=False, include_input=False):
        where = _loc(tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))))
        problems.append((where, quote(err["msg"])[1:-1]))
    try:
        _raise(problems, source)
    except PlanFileError as made:
        return made
    return PlanFileError(f"{source}: corrupt plan file")  # pragma: no cover  (pydantic always has errors)


def _name(problems: list[Problem], where: str, value: str | None, optional: bool = False) -> None:
    if value is None:
        if not optional:
            problems.append((where, "is required"))
        return
    problem = name_problem(value)
    if problem is not None:
        problems.append((where, problem))


def _text(problems: list[Problem], where: str, value: str | None, limit: int = MAX_TEXT) -> None:
    """Free display text: newline and tab allowed, every other forbidden character refused."""
    if value is None:
        return
    bad = control_character(value.replace("\n", " ").replace("\t", " "))
    if bad is not None:
        problems.append((where, f"contains the control character {bad}"))
    elif len(value) > limit:
        problems.append((where, f"is longer than {limit} characters"))


def _labels(problems: list[Problem], where: str, labels: dict[str, str]) -> None:
    for key, value in labels.items():
        problem = text_problem(key) if key else "label keys must be non-empty"
        if problem is not None:
            problems.append((f"{where}[{quote(key)}]", f"label key {problem}"))
            continue
        problem = text_problem(value)
        if problem is not None:
            problems.append((f"{where}[{quote(key)}]", problem))


def _node_id(problems: list[Problem], where: str, value: str, driver: str) -> None:
    if driver in NAME_ID_DRIVERS:
        _name(problems, where, value)
    elif not NODE_ID.fullmatch(value):
        problems.append((where, f"{quote(value)[:80]} is not a node ID (letters, digits, '.', '_', ':', '@', '-')"))


def _walk(value: Any, depth: int) -> Iterator[str]:
    """Problems of free-form driver data: nesting and non-finite numbers."""
    if depth > DRIVER_DATA_DEPTH:
        yield f"nested deeper than {DRIVER_DATA_DEPTH} levels"
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        yield f"holds the non-finite number {value}"


def _changes(plan: Plan, problems: list[Problem]) -> None:
    from modelsched.model.plan import ADD_REASONS

    for i, c in enumerate(plan.changes):
        where = f"changes[{i}]"
        _name(problems, f"{where}.model", c.model)
        _name(problems, f"{where}.node", c.node)
        _node_id(problems, f"{where}.node_id", c.node_id, plan.driver)
        _labels(problems, f"{where}.labels", c.labels)
        _text(problems, f"{where}.note", c.note)
        if (c.reason in ADD_REASONS) != (c.action == "add"):
            problems.append((f"{where}.reason", f"{quote(c.reason)} is not a reason to {c.action}"))


def _models(plan: Plan, problems: list[Problem]) -> None:
    for i, m in enumerate(plan.models):
        _name(problems, f"models[{i}].model", m.model)
        _labels(problems, f"models[{i}].selector", m.selector)
    for i, d in enumerate(plan.diagnostics):
        _name(problems, f"diagnostics[{i}].model", d.model, optional=True)
        _text(problems, f"diagnostics[{i}].message", d.message)
    for i, u in enumerate(plan.unlisted):
        _name(problems, f"unlisted[{i}].model", u.model)
    listed = {m.model for m in plan.models}
    seen: set[str] = set()
    for i, target in enumerate(plan.targets):
        _name(problems, f"targets[{i}]", target)
        if target in seen:
            problems.append((f"targets[{i}]", f"{quote(target)} is listed twice"))
        elif target not in listed:
            problems.append((f"targets[{i}]", f"{quote(target)} is not a model of the plan"))
        seen.add(target)


def _operations(plan: Plan, problems: list[Problem]) -> None:
    for i, op in enumerate(plan.operations):
        where = f"operations[{i}]"
        _name(problems, f"{where}.model", op.model, optional=True)
        _name(problems, f"{where}.target", op.target)
        if plan.driver == "nomad" and not is_job_id(op.target):
            problems.append((f"{where}.target", f"{quote(op.target)[:80]} is not a Nomad job ID"))
        _text(problems, f"{where}.detail", op.detail)
        for j, line in enumerate(op.diff):
            _text(problems, f"{where}.diff[{j}]", line)


def _header(plan: Plan, problems: list[Problem]) -> None:
    from modelsched.model.plan import DRIVERS

    _text(problems, "generator", plan.generator, limit=200)
    if plan.driver not in DRIVERS:
        problems.append(("driver", f"{quote(plan.driver)[:80]} is not a driver ({', '.join(DRIVERS)})"))
    for key, value in plan.cluster.items():
        problem = text_problem(key, 64) if key else "keys must be non-empty"
        problems += [(f"cluster[{quote(key)}]", f"key {problem}")] if problem else []
        problem = text_problem(value, MAX_PATH)
        problems += [(f"cluster[{quote(key)}]", problem)] if problem else []
    for field in ("desired_digest", "observed_fingerprint"):
        if not DIGEST.fullmatch(getattr(plan, field)):
            problems.append((field, "is not a digest"))


def _consistency(plan: Plan, problems: list[Problem]) -> None:
    adds = sum(1 for c in plan.changes if c.action == "add")
    removes = len(plan.changes) - adds
    restarts = sum(op.restarts for op in plan.operations)
    s = plan.summary
    if (s.add, s.remove, s.restart) != (adds, removes, restarts):
        problems.append(
            (
                "",
                f"summary says {s.add} to add, {s.remove} to remove, {s.restart} to restart, but the changes and "
                f"operations hold {adds} to add, {removes} to remove, {restarts} to restart",
            )
        )


def _observed(plan: Plan, problems: list[Problem]) -> None:
    for node_id, digest in (plan.observed_nodes or {}).items():
        where = f"observed_nodes[{quote(node_id)[:80]}]"
        _node_id(problems, where, node_id, plan.driver)
        _name(problems, f"{where}.name", digest.name)
        for field in ("state", "replicas"):
            if not SHORT_HASH.fullmatch(getattr(digest, field)):
                problems.append((f"{where}.{field}", "is not a short hash"))


def _nodes(plan: Plan, problems: list[Problem]) -> None:
    seen: set[str] = set()
    for i, node in enumerate(plan.nodes or ()):
        where = f"nodes[{i}]"
        if node.id in seen:
            problems.append((f"{where}.id", f"{quote(node.id)[:80]} is listed twice"))
        seen.add(node.id)
        _name(problems, f"{where}.name", node.name)
        _node_id(problems, f"{where}.id", node.id, plan.driver)
        _labels(problems, f"{where}.labels", node.labels)
        for model in node.kept:
            _name(problems, f"{where}.kept[{quote(model)[:80]}]", model)


def check_plan(plan: Plan, source: str) -> None:
    """Raise PlanFileError naming where the plan breaks a rule; return when it keeps them all."""
    problems: list[Problem] = []
    _header(plan, problems)
    _changes(plan, problems)
    _models(plan, problems)
    _operations(plan, problems)
    _observed(plan, problems)
    _nodes(plan, problems)
    _consistency(plan, problems)
    if plan.driver_data is not None:
        deep = next(_walk(plan.driver_data, 1), None)
        problems += [("driver_data", deep)] if deep else []
    _raise(problems, source)
