"""Job specs as the Nomad server stores them: drop unknown keys, fill defaults, validate.

Owns the register-time transformations of NOMAD.md "Jobs" and the spec comparisons
the scheduler needs (changed? destructive?). It must not touch cluster state.
"""

from __future__ import annotations

import copy
from typing import Any

# Nomad silently drops unknown keys (NOMAD.md), so a typo like `Constraint` vanishes.
# Simplification: only the keys listed here are modelled; everything else is dropped.
JOB_KEYS = {
    "ID", "Name", "Type", "Datacenters", "NodePool", "Region", "Namespace", "Priority",
    "Constraints", "Affinities", "Spreads", "TaskGroups", "Meta", "Update", "Periodic",
    "ParameterizedJob", "AllAtOnce", "Stop", "ParentID", "Multiregion", "Migrate", "Reschedule",
}
GROUP_KEYS = {
    "Name", "Count", "Constraints", "Affinities", "Spreads", "Tasks", "Scaling", "ReschedulePolicy",
    "RestartPolicy", "Update", "Migrate", "Networks", "Services", "Volumes", "EphemeralDisk", "Meta",
    "ShutdownDelay", "StopAfterClientDisconnect", "MaxClientDisconnect",
}
TASK_KEYS = {
    "Name", "Driver", "User", "Config", "Env", "Resources", "Constraints", "Affinities", "Services",
    "Meta", "KillTimeout", "LogConfig", "Artifacts", "Templates", "Vault", "Lifecycle", "Leader",
    "ShutdownDelay", "KillSignal", "RestartPolicy",
}
# Server-managed fields: not part of the spec when deciding whether it changed.
SERVER_KEYS = ("Version", "Status", "CreateIndex", "ModifyIndex", "JobModifyIndex", "SubmitTime", "Stable")
# Simplification: a change to these task fields is destructive, anything else in place.
DESTRUCTIVE_TASK_KEYS = ("Driver", "Config", "Env", "Resources", "User", "Artifacts", "Templates")


def _keep(obj: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {key: copy.deepcopy(value) for key, value in obj.items() if key in keys}


def normalize(raw: dict[str, Any]) -> dict[str, Any]:
    """Drop unknown keys and fill the server defaults listed in NOMAD.md."""
    job = _keep(raw, JOB_KEYS)
    job.setdefault("Name", job.get("ID"))
    job["Type"] = job.get("Type") or "service"
    job["Datacenters"] = job.get("Datacenters") or ["*"]  # 1.5+
    job["NodePool"] = job.get("NodePool") or "default"  # 1.6+
    job["Region"] = job.get("Region") or "global"
    job["Namespace"] = job.get("Namespace") or "default"
    job["Priority"] = job.get("Priority") or 50
    job["Stop"] = bool(job.get("Stop", False))
    job.setdefault("Constraints", None)
    job.setdefault("Meta", None)
    groups = []
    for raw_group in job.get("TaskGroups") or []:
        group = _keep(raw_group, GROUP_KEYS)
        if group.get("Count") is None:
            scaling = group.get("Scaling") or {}
            group["Count"] = scaling.get("Min") if scaling.get("Min") is not None else 1
        group["Tasks"] = [_keep(task, TASK_KEYS) for task in group.get("Tasks") or []]
        groups.append(group)
    job["TaskGroups"] = groups
    return job


def validate(job: dict[str, Any]) -> list[str]:
    """Validation errors for a normalized job. Wording approximates Nomad's."""
    errors: list[str] = []
    if not job.get("ID"):
        errors.append("Missing job ID")
    elif " " in str(job["ID"]):
        errors.append("Job ID contains a space")
    if job["Type"] not in ("service", "batch", "system", "sysbatch"):
        errors.append(f"Invalid job type: {job['Type']!r}")
    if not job["TaskGroups"]:
        errors.append("Missing job task groups")
    system = job["Type"] in ("system", "sysbatch")
    if system and (job.get("Affinities") or job.get("Spreads")):
        errors.append("System jobs may not have an affinity or spread block")
    seen: dict[str, int] = {}
    for index, group in enumerate(job["TaskGroups"]):
        name = group.get("Name") or ""
        if not name:
            errors.append(f"Job task group {index + 1} missing name")
        elif name in seen:
            errors.append(f"Job task group {index + 1} redefines '{name}' from group {seen[name] + 1}")
        else:
            seen[name] = index
        count = group.get("Count")
        if not isinstance(count, int) or count < 0:
            errors.append(f"Task group {name} has invalid count {count!r}")
            continue
        if system and count > 1:
            errors.append(
                f"Job task group {index + 1} has count {count}. Only count of 1 is supported with system scheduler"
            )
        if system and (group.get("Affinities") or group.get("Spreads")):
            errors.append(f"Task group {name}: system jobs may not have an affinity or spread block")
        if system and group.get("ReschedulePolicy"):
            errors.append(f"Task group {name}: system jobs should not have a reschedule policy")
        scaling = group.get("Scaling")
        if scaling is not None:
            errors += _scaling_errors(name, count, scaling, system)
        if not group["Tasks"]:
            errors.append(f"Task group {name} validation failed: Missing tasks for task group")
    return errors


def _scaling_errors(name: str, count: int, scaling: dict[str, Any], system: bool) -> list[str]:
    if system:
        return [f"Task group {name}: system jobs may not have a scaling block"]
    low, high = scaling.get("Min"), scaling.get("Max")
    if high is None:
        return [f"Task group {name} scaling policy invalid: maximum count must be specified"]
    if low is not None and low > high:
        return [f"Task group {name} scaling policy invalid: maximum count must not be less than minimum count"]
    if count > high or (low is not None and count < low):
        return [f"Task group {name} has count {count} outside of scaling policy range [{low}, {high}]"]
    return []


def error_text(errors: list[str]) -> str:
    # Nomad returns a go-multierror text for validation failures.
    items = "".join(f"\n\t* {error}" for error in errors)
    noun = "error" if len(errors) == 1 else "errors"
    return f"{len(errors)} {noun} occurred:{items}\n\n"


def spec_of(job: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in job.items() if key not in SERVER_KEYS}


def spec_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    return old is None or spec_of(old) != spec_of(new)


def group_by_name(job: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    for group in (job or {}).get("TaskGroups") or []:
        if group.get("Name") == name:
            return dict(group)
    return None


def destructive_change(old_group: dict[str, Any] | None, new_group: dict[str, Any]) -> bool:
    """True when the group's tasks changed in a way Nomad would replace the alloc for."""
    if old_group is None:
        return True
    old_tasks = {task.get("Name"): task for task in old_group.get("Tasks") or []}
    new_tasks = {task.get("Name"): task for task in new_group.get("Tasks") or []}
    if old_tasks.keys() != new_tasks.keys():
        return True
    return any(
        old_tasks[name].get(key) != new_tasks[name].get(key) for name in new_tasks for key in DESTRUCTIVE_TASK_KEYS
    )
