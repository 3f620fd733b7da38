"""What changes between a live Nomad job and the job modelsched renders, as Nomad sees it.

Three things, all pure and computed on the live job *projected* onto the fields we
render (server-filled defaults such as Priority, Resources.DiskMB or a port's
HostNetwork disappear, and the `${attr.nomad.service_discovery}` constraint Nomad adds
to groups with `Provider: nomad` services is dropped: NOMAD.md "Jobs"):

- `project`: that projection; `differs` lists the paths that differ (empty: registering
  would change nothing, so apply skips it).
- `destructive`: Nomad's `tasksUpdated` (scheduler/util.go): the first field whose change
  replaces every allocation (task driver, user, config, env, artifacts, templates, vault,
  consul, resources, networks, volumes, ephemeral disk, the job + group + task Meta), or
  None when the update is in place (count, constraints, scaling, services, priority).
- `diff_lines`: one display line per changed field, like `nomad job plan`
  (`~ Task "localai" Config.image: "a" => "b"`, `~ Count: 2 => 3`), via DeepDiff.

Must not decide what apply does (prepare does) nor talk to Nomad.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson
from deepdiff import DeepDiff

SERVICE_DISCOVERY = {"LTarget": "${attr.nomad.service_discovery}", "RTarget": "true", "Operand": "="}
PIN_TARGET = "${node.unique.id}"
SHOWN_VALUE = 80  # characters of a value shown in a diff line
SHOWN_IDS = 3  # node IDs named per side of a pinned-set change
# Task fields whose change is destructive (tasksUpdated's per-task checks, in its order).
_TASK_FIELDS = (
    ("Driver", "task driver"),
    ("User", "task user"),
    ("Config", "task config"),
    ("Env", "task env"),
    ("Artifacts", "task artifacts"),
    ("Vault", "task vault"),
    ("Secrets", "task secrets"),
    ("Consul", "task consul"),
    ("Templates", "task templates"),
    ("CSIPluginConfig", "task csi config"),
    ("VolumeMounts", "task volume mount"),
)
# Group fields whose change is destructive (tasksUpdated's group checks).
_GROUP_FIELDS = (
    ("EphemeralDisk", "ephemeral disk"),
    ("Networks", "network"),
    ("Consul", "group consul"),
    ("Volumes", "volume request"),
)
_PATH_PART = re.compile(r"\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]")


def _project(ours: Any, theirs: Any) -> Any:
    """`theirs` restricted to the shape of `ours` (keys we do not render are dropped)."""
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return theirs
        return {k: _project(v, theirs[k]) for k, v in ours.items() if k in theirs}
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [_project(a, b) for a, b in zip(ours, theirs, strict=True)]
    return theirs


def _without_added(constraints: Any, ours: Any) -> Any:
    """Drop the service-discovery constraint Nomad adds itself (unless we render it)."""
    if not isinstance(constraints, list) or (isinstance(ours, list) and SERVICE_DISCOVERY in ours):
        return constraints
    kept = [c for c in constraints if not (isinstance(c, dict) and {k: c.get(k) for k in SERVICE_DISCOVERY}
                                           == SERVICE_DISCOVERY)]
    return kept or None


def project(rendered: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """The live job restricted to the fields `rendered` has, Nomad's own additions removed."""
    theirs = dict(live)
    ours_groups = rendered.get("TaskGroups") or []
    groups = theirs.get("TaskGroups")
    if isinstance(groups, list):
        fixed = []
        for i, g in enumerate(groups):
            if isinstance(g, dict):
                mine = ours_groups[i] if i < len(ours_groups) and isinstance(ours_groups[i], dict) else {}
                g = dict(g)
                g["Constraints"] = _without_added(g.get("Constraints"), mine.get("Constraints"))
                if g["Constraints"] is None and "Constraints" not in mine:
                    del g["Constraints"]
            fixed.append(g)
        theirs["TaskGroups"] = fixed
    out = _project(dict(rendered), theirs)
    return out if isinstance(out, dict) else {}


def differs(rendered: Mapping[str, Any], live: Mapping[str, Any]) -> list[str]:
    """Paths where the live job differs from the rendered one. A stopped job (`nomad job
    stop`) must be registered again whatever its spec."""
    if live.get("Stop"):
        return ["root['Stop']"]
    projected = project(rendered, live)
    # The common, converged case without a DeepDiff walk. Bytes, not ==: 1 == True == 1.0.
    if orjson.dumps(projected, option=orjson.OPT_SORT_KEYS) == orjson.dumps(rendered, option=orjson.OPT_SORT_KEYS):
        return []
    diff = DeepDiff(projected, dict(rendered), ignore_order=False)
    return sorted(str(p) for kind in diff for p in diff[kind])


def group_of(job: Mapping[str, Any]) -> dict[str, Any]:
    """The job's (only) task group."""
    groups = job.get("TaskGroups") or [{}]
    return groups[0] if isinstance(groups[0], dict) else {}


def _task_meta(job: Mapping[str, Any], group: Mapping[str, Any], task: Mapping[str, Any]) -> dict[str, Any]:
    """Job.CombinedTaskMeta: job Meta, overridden by group Meta, overridden by task Meta."""
    return {**(job.get("Meta") or {}), **(group.get("Meta") or {}), **(task.get("Meta") or {})}


def _resources(task: Mapping[str, Any]) -> Any:
    res = task.get("Resources")
    return res if isinstance(res, dict) else {}


def destructive(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """Why Nomad replaces every allocation on this update (tasksUpdated), or None (in place).

    `old` is the projected live job (`project`), so server defaults never count."""
    a, b = group_of(old), group_of(new)
    tasks_a, tasks_b = a.get("Tasks") or [], b.get("Tasks") or []
    if len(tasks_a) != len(tasks_b):
        return "number of tasks"
    for key, why in _GROUP_FIELDS:
        if a.get(key) != b.get(key):
            return why
    by_name = {t.get("Name"): t for t in tasks_b if isinstance(t, dict)}
    for ta in tasks_a:
        if not isinstance(ta, dict):
            return "task changed"
        tb = by_name.get(ta.get("Name"))
        if tb is None:
            return f"task {ta.get('Name')!r} deleted"
        for key, why in _TASK_FIELDS:
            if ta.get(key) != tb.get(key):
                return why
        if _task_meta(old, a, ta) != _task_meta(new, b, tb):
            return "task meta"
        ra, rb = _resources(ta), _resources(tb)
        if ra.get("Networks") != rb.get("Networks"):
            return "task network"
        if {k: v for k, v in ra.items() if k != "Networks"} != {k: v for k, v in rb.items() if k != "Networks"}:
            return "task resources"
        for key, why in (("Identity", "task identity"), ("Identities", "task identity")):
            if ta.get(key) != tb.get(key):
                return why
    return None


def _parts(path: str) -> list[str | int]:
    return [int(idx) if idx else name.replace("\\'", "'") for name, idx in _PATH_PART.findall(path)]


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 3] + "..."


def _label(parts: list[str | int], job: Mapping[str, Any]) -> str:
    """`root['TaskGroups'][0]['Tasks'][0]['Config']['image']` -> `Task "localai" Config.image`."""
    prefix = ""
    rest: list[str | int] = parts
    if parts[:2] == ["TaskGroups", 0]:
        group = group_of(job)
        rest = parts[2:]
        if rest[:1] == ["Tasks"] and len(rest) > 1 and isinstance(rest[1], int):
            tasks = group.get("Tasks") or []
            name = tasks[rest[1]].get("Name") if rest[1] < len(tasks) else rest[1]
            prefix, rest = f'Task "{name}" ', rest[2:]
        elif rest != ["Count"]:
            prefix = f'Group "{group.get("Name")}" '
    text = ""
    for p in rest:
        text += f"[{p}]" if isinstance(p, int) else (("." if text else "") + p)
    return prefix + (text or "(whole)")


def _pin_line(parts: list[str | int], old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """A pinned node set change, as added/removed node IDs instead of two long strings."""
    if parts[-1:] != ["RTarget"] or parts[:1] != ["Constraints"]:
        return None

    def at(job: Mapping[str, Any]) -> Any:
        node: Any = job
        for p in parts[:-1]:
            node = node[p]
        return node

    try:
        before, after = at(old), at(new)
    except (KeyError, IndexError, TypeError):
        return None
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return None
    if before.get("LTarget") != PIN_TARGET or after.get("LTarget") != PIN_TARGET:
        return None
    a = set(str(before.get("RTarget") or "").split(","))
    b = set(str(after.get("RTarget") or "").split(","))
    gained, lost = sorted(b - a - {""}), sorted(a - b - {""})

    def named(ids: list[str]) -> str:
        shown = ", ".join(ids[:SHOWN_IDS])
        return shown + (f", and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")

    bits = [f"+{len(gained)} ({named(gained)})" if gained else "", f"-{len(lost)} ({named(lost)})" if lost else ""]
    return f"~ Constraint {PIN_TARGET} pinned nodes: " + " ".join(b for b in bits if b)


def diff_lines(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Display lines for the change from `old` (projected live job) to `new`, sorted by path."""
    diff = DeepDiff(dict(old), dict(new), ignore_order=False, verbose_level=2)
    lines: list[tuple[str, str]] = []
    for kind, items in diff.items():
        for path, item in items.items():
            parts = _parts(path)
            if kind in ("values_changed", "type_changes"):
                pin = _pin_line(parts, old, new)
                text = pin or f"~ {_label(parts, new)}: {_show(item['old_value'])} => {_show(item['new_value'])}"
            elif kind in ("dictionary_item_added", "iterable_item_added"):
                text = f"+ {_label(parts, new)}: {_show(item)}"
            elif kind in ("dictionary_item_removed", "iterable_item_removed"):
                text = f"- {_label(parts, old)}: {_show(item)}"
            else:
                text = f"~ {_label(parts, new)}"
            lines.append((path, text))
    return [text for _, text in sorted(lines)]
