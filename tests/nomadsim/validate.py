"""Job validation with Nomad's own error texts (a subset), formatted like go-multierror.

Follows nomad/structs/structs.go `Job.Validate`, `TaskGroup.Validate`,
`TaskGroup.validateScalingPolicy`, `ScalingPolicy.Validate`, `Constraint.Validate`,
nomad/structs/services.go `Service.Validate`/`ValidateName`, and the admission
validators of nomad/job_endpoint_hooks.go (`jobValidate`), job_endpoint_validators.go
(`jobNamespaceConstraintCheckHook`) and job_endpoint_hook_node_pool.go. Nested
multierrors are rendered with %s like Go does, so texts nest exactly.
"""

from __future__ import annotations

import re
from typing import Any

_SERVICE_NAME = re.compile(r"^(?:[a-z0-9]|[a-z0-9][a-z0-9\-]{0,61}[a-z0-9])$", re.IGNORECASE)
_ENV = re.compile(r"\$\{[^}]*\}")
_POLICY = "Scaling policy invalid: task group count must not be "


def multierror(errors: list[str]) -> str:
    """go-multierror ListFormatFunc."""
    if len(errors) == 1:
        return f"1 error occurred:\n\t* {errors[0]}\n\n"
    points = "\n\t".join(f"* {error}" for error in errors)
    return f"{len(errors)} errors occurred:\n\t{points}\n\n"


def constraint_errors(constraint: dict[str, Any]) -> list[str]:
    """Constraint.Validate."""
    errors: list[str] = []
    operand, left, right = (str(constraint.get(k) or "") for k in ("Operand", "LTarget", "RTarget"))
    if operand == "":
        errors.append("Missing constraint operand")
    need_left = True
    if operand == "distinct_hosts":
        need_left = False
    elif operand in ("set_contains_all", "set_contains_any", "set_contains"):
        if right == "":
            errors.append("Set contains constraint requires an RTarget")
    elif operand == "regexp":
        try:
            re.compile(right)
        except re.error as err:
            errors.append(f"Regular expression failed to compile: {err}")
    elif operand in ("version", "semver"):
        if right.strip() == "":
            label = "Version" if operand == "version" else "Semver"
            errors.append(f"{label} constraint is invalid: Malformed constraint: {right}")
    elif operand == "distinct_property":
        if right and (not right.isdigit() or int(right) < 1):
            errors.append(f"Failed to convert RTarget {right!r} to uint64")
    elif operand in ("is_set", "is_not_set"):
        if right:
            errors.append(f'Operator "{operand}" does not support an RTarget')
    elif operand in ("=", "==", "is", "!=", "not", "<", "<=", ">", ">="):
        if right == "":
            errors.append(f'Operator "{operand}" requires an RTarget')
    else:
        errors.append(f'Unknown constraint type "{operand}"')
    if need_left and left == "":
        errors.append("no attribute provided but is required by operator")
    return errors


def _constraints(found: list[str], constraints: list[dict[str, Any]] | None) -> None:
    for index, constraint in enumerate(constraints or []):
        errors = constraint_errors(constraint)
        if errors:
            found.append(f"Constraint {index + 1} validation failed: {multierror(errors)}")


def service_errors(service: dict[str, Any]) -> list[str]:
    """Service.Validate: the name check (after ReplaceEnvWithPlaceHolder)."""
    name = str(service.get("Name") or "")
    if not _SERVICE_NAME.match(_ENV.sub("ENV-VAR", name)):
        return [
            "Service name must be valid per RFC 1123 and can contain only alphanumeric characters or dashes and "
            f'must be no longer than 63 characters: "{name}"'
        ]
    return []


def _scaling(group: dict[str, Any]) -> list[str]:
    scaling = group.get("Scaling")
    if scaling is None:
        return []
    errors: list[str] = []
    low, high = int(scaling.get("Min", 0)), int(scaling.get("Max", -1))
    if high < 0:
        errors.append("Scaling policy invalid: maximum count must be specified and non-negative")
    elif high < low:
        errors.append("Scaling policy invalid: maximum count must not be less than minimum count")
    if low < 0:
        errors.append("Scaling policy invalid: minimum count must be specified and non-negative")
    if high < group["Count"]:
        errors.append(f"{_POLICY}greater than maximum count in scaling policy")
    if group["Count"] < low:
        errors.append(f"{_POLICY}less than minimum count in scaling policy")
    return errors


def group_errors(job: dict[str, Any], group: dict[str, Any]) -> list[str]:
    """TaskGroup.Validate (subset)."""
    errors: list[str] = []
    if group["Count"] < 0:
        errors.append("Task group count can't be negative")
    if not group["Tasks"]:
        errors.append("Missing tasks for task group")
    _constraints(errors, group.get("Constraints"))
    system = job["Type"] in ("system", "sysbatch")
    if job["Type"] == "system" and group.get("Affinities") is not None:
        errors.append("System jobs may not have an affinity block")
    if job["Type"] == "system" and group.get("Spreads") is not None:
        errors.append("System jobs may not have a spread block")
    if system and group.get("ReschedulePolicy") is not None:
        errors.append("System or sysbatch jobs should not have a reschedule policy")
    service_found: list[str] = []
    for index, service in enumerate(group.get("Services") or []):
        found = service_errors(service)
        if found:
            service_found.append(f"Service[{index}] {service.get('Name')} validation failed: {multierror(found)}")
    if service_found:
        errors.append(f"Task group service validation failed: {multierror(service_found)}")
    scaling = _scaling(group)
    if scaling:
        errors.append(f"Task group scaling policy validation failed: {multierror(scaling)}")
    seen: dict[str, int] = {}
    for index, task in enumerate(group["Tasks"]):
        task_name = task.get("Name") or ""
        if not task_name:
            errors.append(f"Task {index + 1} missing name")
        elif task_name in seen:
            errors.append(f"Task {index + 1} redefines '{task_name}' from task {seen[task_name] + 1}")
        else:
            seen[task_name] = index
    for task in group["Tasks"]:
        task_found: list[str] = []
        if not task.get("Driver"):
            task_found.append("Missing task driver")
        _constraints(task_found, task.get("Constraints"))
        for index, service in enumerate(task.get("Services") or []):
            found = service_errors(service)
            if found:
                task_found.append(f'service[{index}] "{service.get("Name")}" validation failed: {multierror(found)}')
        if task_found:
            errors.append(f"Task {task.get('Name')} validation failed: {multierror(task_found)}")
    return errors


def job_errors(job: dict[str, Any]) -> list[str]:
    """Job.Validate (subset), in Nomad's order."""
    errors: list[str] = []
    if not job.get("ID"):
        errors.append("Missing job ID")
    elif " " in str(job["ID"]):
        errors.append("Job ID contains a space")
    if not job.get("Name"):
        errors.append("Missing job name")
    if job["Type"] not in ("service", "batch", "system", "sysbatch", "_core"):
        errors.append(f'Invalid job type: "{job["Type"]}"')
    if any(dc == "" for dc in job["Datacenters"]):
        errors.append("Job datacenter must be non-empty string")
    if not job["TaskGroups"]:
        errors.append("Missing job task groups")
    _constraints(errors, job.get("Constraints"))
    if job["Type"] == "system" and job.get("Affinities") is not None:
        errors.append("System jobs may not have an affinity block")
    if job["Type"] == "system" and job.get("Spreads") is not None:
        errors.append("System jobs may not have a spread block")
    seen: dict[str, int] = {}
    for index, group in enumerate(job["TaskGroups"]):
        name = group.get("Name") or ""
        if not name:
            errors.append(f"Job task group {index + 1} missing name")
        elif name in seen:
            errors.append(f"Job task group {index + 1} redefines '{name}' from group {seen[name] + 1}")
        else:
            seen[name] = index
        if job["Type"] == "system" and group["Count"] > 1:
            errors.append(f"Job task group {name} has count {group['Count']}. "
                          "Count cannot exceed 1 with system scheduler")
    for group in job["TaskGroups"]:
        found = group_errors(job, group)
        if found:
            errors.append(f"Task group {group.get('Name')} validation failed: {multierror(found)}")
    return errors


def admission_errors(job: dict[str, Any], namespaces: set[str], pools: set[str]) -> list[str]:
    """admissionValidators: namespace hook, node pool hook, then jobValidate (flattened)."""
    errors: list[str] = []
    if job["Namespace"] not in namespaces:
        errors.append(f'job "{job["ID"]}" is in nonexistent namespace "{job["Namespace"]}"')
    if job["NodePool"] not in pools:
        errors.append(f'job "{job["ID"]}" is in nonexistent node pool "{job["NodePool"]}"')
    errors += job_errors(job)
    if job["Type"] == "_core":
        errors.append("job type cannot be core")
    if not 1 <= job["Priority"] <= 100:
        errors.append("job priority must be between [1, 100]")
    return errors
