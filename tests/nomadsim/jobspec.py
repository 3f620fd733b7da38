"""Job specs as the Nomad server stores them: drop unknown keys, canonicalize, implied constraints.

Owns the register-time transformations and the spec comparisons the scheduler needs:
- defaults: api/jobs.go `Job.Canonicalize` (Update = DefaultUpdateStrategy for service and
  system jobs), api/tasks.go `TaskGroup.Canonicalize` (Count, Update merge, Scaling.Min),
  `Service.Canonicalize` (Provider "consul");
- nomad/job_endpoint_hooks.go `jobImpliedConstraints.Mutate`;
- nomad/scheduler/util.go `tasksUpdated` (destructive or not) and `Job.SpecChanged`.
It must not touch cluster state.
"""

from __future__ import annotations

import copy
from typing import Any

# Nomad silently drops unknown keys, so a typo like `Constraint` vanishes.
# Simplification: only the keys listed here are modelled; everything else is dropped.
JOB_KEYS = {
    "ID", "Name", "Type", "Datacenters", "NodePool", "Region", "Namespace", "Priority",
    "Constraints", "Affinities", "Spreads", "TaskGroups", "Meta", "Update", "Periodic",
    "ParameterizedJob", "AllAtOnce", "Stop", "ParentID", "Multiregion", "Migrate", "Reschedule",
}
GROUP_KEYS = {
    "Name", "Count", "Constraints", "Affinities", "Spreads", "Tasks", "Scaling", "ReschedulePolicy",
    "RestartPolicy", "Update", "Migrate", "Networks", "Services", "Volumes", "EphemeralDisk", "Meta",
    "ShutdownDelay", "StopAfterClientDisconnect", "MaxClientDisconnect", "Consul", "Disconnect",
}
TASK_KEYS = {
    "Name", "Driver", "User", "Config", "Env", "Resources", "Constraints", "Affinities", "Services",
    "Meta", "KillTimeout", "LogConfig", "Artifacts", "Templates", "Vault", "Lifecycle", "Leader",
    "ShutdownDelay", "KillSignal", "RestartPolicy", "Consul", "Secrets", "VolumeMounts", "Identity",
    "Identities", "CSIPluginConfig",
}
# Server-managed fields: not part of the spec when deciding whether it changed (Job.SpecChanged).
SERVER_KEYS = ("Version", "Status", "CreateIndex", "ModifyIndex", "JobModifyIndex", "SubmitTime", "Stable")
SECOND = 1_000_000_000
# api/jobs.go DefaultUpdateStrategy (durations in ns).
DEFAULT_UPDATE: dict[str, Any] = {
    "Stagger": 30 * SECOND, "MaxParallel": 1, "HealthCheck": "checks", "MinHealthyTime": 10 * SECOND,
    "HealthyDeadline": 300 * SECOND, "ProgressDeadline": 600 * SECOND, "AutoRevert": False,
    "AutoPromote": False, "Canary": 0,
}
NSD_CONSTRAINT = {"LTarget": "${attr.nomad.service_discovery}", "RTarget": "true", "Operand": "="}
NSD_CHECKS_CONSTRAINT = {"LTarget": "${attr.nomad.version}", "RTarget": ">= 1.4.0", "Operand": "semver"}
CONSUL_CONSTRAINT = {"LTarget": "${attr.consul.version}", "RTarget": ">= 1.8.0", "Operand": "semver"}


def _keep(obj: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {key: copy.deepcopy(value) for key, value in obj.items() if key in keys}


def _given(update: dict[str, Any] | None) -> dict[str, Any]:
    return {key: value for key, value in (update or {}).items() if value is not None}


def _services(services: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if services is None:
        return None
    return [dict(service) | {"Provider": service.get("Provider") or "consul"} for service in services]


def normalize(raw: dict[str, Any], namespace: str = "default") -> dict[str, Any]:
    """Drop unknown keys and fill the server defaults (the Canonicalize functions above)."""
    job = _keep(raw, JOB_KEYS)
    job.setdefault("Name", job.get("ID"))
    job["Type"] = job.get("Type") or "service"
    job["Datacenters"] = job.get("Datacenters") or ["*"]  # 1.5+
    job["NodePool"] = job.get("NodePool") or "default"  # 1.6+
    job["Region"] = job.get("Region") or "global"
    job["Namespace"] = namespace
    job["Priority"] = job.get("Priority") or 50
    job["Stop"] = bool(job.get("Stop", False))
    job.setdefault("Constraints", None)
    job.setdefault("Meta", None)
    job_update = _given(job.get("Update"))
    if job.get("Update") is not None or job["Type"] in ("service", "system"):
        job["Update"] = DEFAULT_UPDATE | job_update
    groups = []
    for raw_group in job.get("TaskGroups") or []:
        group = _keep(raw_group, GROUP_KEYS)
        scaling = group.get("Scaling")
        if group.get("Count") is None:
            group["Count"] = scaling["Min"] if scaling and scaling.get("Min") is not None else 1
        if scaling is not None:
            defaults = {"Type": "horizontal", "Enabled": True, "Min": group["Count"], "Max": -1}
            group["Scaling"] = defaults | _given(scaling)
        if job_update or group.get("Update") is not None or job.get("Update") is not None:
            group["Update"] = DEFAULT_UPDATE | job_update | _given(group.get("Update"))
        group["Services"] = _services(group.get("Services"))
        group["Tasks"] = [_keep(task, TASK_KEYS) for task in group.get("Tasks") or []]
        for task in group["Tasks"]:
            task["Services"] = _services(task.get("Services"))
        groups.append(group)
    job["TaskGroups"] = groups
    return implied_constraints(job)


def _add(target: dict[str, Any], constraint: dict[str, str], left_only: bool) -> None:
    """mutateConstraint: constraintMatcherFull (equal) or constraintMatcherLeft (same LTarget)."""
    existing = target.get("Constraints") or []
    if left_only:
        found = any(c.get("LTarget") == constraint["LTarget"] for c in existing)
    else:
        found = any({k: c.get(k) or "" for k in constraint} == constraint for c in existing)
    if not found:
        target["Constraints"] = [*existing, dict(constraint)]


def implied_constraints(job: dict[str, Any]) -> dict[str, Any]:
    """jobImpliedConstraints.Mutate: Nomad-provider services (RequiredNativeServiceDiscovery) and
    Consul-provider services (RequiredConsulServiceDiscovery) get constraints on their group/task."""
    for group in job["TaskGroups"]:
        services = list(group.get("Services") or [])
        for task in group["Tasks"]:
            services += task.get("Services") or []
        nomad = [s for s in services if s.get("Provider") == "nomad"]
        if nomad:
            _add(group, NSD_CONSTRAINT, left_only=False)
        if any(s.get("Checks") for s in nomad):
            _add(group, NSD_CHECKS_CONSTRAINT, left_only=False)
        if any(s.get("Provider") == "consul" for s in group.get("Services") or []):
            _add(group, CONSUL_CONSTRAINT, left_only=True)
        for task in group["Tasks"]:
            if any(s.get("Provider") == "consul" for s in task.get("Services") or []):
                _add(task, CONSUL_CONSTRAINT, left_only=True)
    return job


def spec_of(job: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in job.items() if key not in SERVER_KEYS}


def spec_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    return old is None or spec_of(old) != spec_of(new)


def group_by_name(job: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    for group in (job or {}).get("TaskGroups") or []:
        if group.get("Name") == name:
            return dict(group)
    return None


def combined_task_meta(job: dict[str, Any], group: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """Job.CombinedTaskMeta: job Meta, overridden by group Meta, overridden by task Meta."""
    return dict(job.get("Meta") or {}) | dict(group.get("Meta") or {}) | dict(task.get("Meta") or {})


def _sub(obj: dict[str, Any] | None, *path: str) -> Any:
    for key in path:
        obj = (obj or {}).get(key)
    return obj


_TASK_FIELDS = ("Driver", "User", "Config", "Env", "Artifacts", "Vault", "Secrets", "Consul", "Templates",
                "CSIPluginConfig", "VolumeMounts", "Resources", "Identity", "Identities")


def tasks_updated(new_job: dict[str, Any], old_job: dict[str, Any], group_name: str) -> bool:
    """scheduler/util.go tasksUpdated: True when the group's allocations must be replaced."""
    new, old = group_by_name(new_job, group_name), group_by_name(old_job, group_name)
    if new is None or old is None or len(new["Tasks"]) != len(old["Tasks"]):
        return True
    for key in ("EphemeralDisk", "Networks", "Consul", "Volumes"):
        if new.get(key) != old.get(key):
            return True
    connect = [[s.get("Connect") for s in g.get("Services") or []] for g in (new, old)]
    if connect[0] != connect[1] or _sub(new, "RestartPolicy", "RenderTemplates") != _sub(
            old, "RestartPolicy", "RenderTemplates"):
        return True
    new_tasks = {task.get("Name"): task for task in new["Tasks"]}
    for old_task in old["Tasks"]:
        task = new_tasks.get(old_task.get("Name"))
        if task is None or any(task.get(key) != old_task.get(key) for key in _TASK_FIELDS):
            return True
        if combined_task_meta(new_job, new, task) != combined_task_meta(old_job, old, old_task):
            return True
        for path in (("LogConfig", "Disabled"), ("RestartPolicy", "RenderTemplates")):
            if _sub(task, *path) != _sub(old_task, *path):
                return True
    return False
