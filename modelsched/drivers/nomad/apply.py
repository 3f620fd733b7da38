"""Apply a prepared plan to Nomad: job operations with check-index, then wait.

Order: purges of pruned jobs last, everything else in job ID order. Per job: GET it,
refuse if its modify index moved since the plan (and, for a purge, if it is no longer
ours), skip if the rendered spec equals the running one (registering an unchanged job
still creates an evaluation: NOMAD.md), else register with EnforceIndex. The first
failure stops the run: later jobs are reported as not attempted, so a re-run
converges. Every job gets one report message: applied / failed / not attempted.
Never prints: `progress` only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from modelsched.drivers.base import ApplyReport, Progress
from modelsched.drivers.nomad import jobspec, translate
from modelsched.drivers.nomad.client import ConflictError, NomadClient
from modelsched.drivers.nomad.prepare import placement_failure
from modelsched.errors import DriverError
from modelsched.model.plan import Change, Plan

_ORDER = {"replace": 0, "register": 1, "update": 1, "evaluate": 1, "purge": 2}


def _check_current(client: NomadClient, job_id: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """GET the job right before changing it; refuse if it moved since the plan.

    Check-index protects registers, but a purge has no EnforceIndex: this GET is the
    last look before a destructive step. A pruned job must also still be ours (job Meta)."""
    current = client.job(job_id)
    if current is None:
        return None
    recorded = int(data["modify_index"])
    index = int(current.get("JobModifyIndex") or 0)
    if index != recorded:
        raise ConflictError(
            f"Nomad at {client.conn.address}: job {job_id} changed since the plan was made "
            f"(modify index {index}, plan recorded {recorded}); it was left alone: run `modelsched plan` again"
        )
    if data["action"] == "purge" and translate.job_info(current).model != data["model"]:
        raise ConflictError(
            f"Nomad at {client.conn.address}: job {job_id} is no longer modelsched's job for model "
            f"{data['model']!r} (job Meta changed); it was left alone: run `modelsched plan` again"
        )
    return current


def _run_one(client: NomadClient, job_id: str, data: dict[str, Any], progress: Progress) -> str | None:
    """Do one job's operation; return the evaluation ID to watch (if any)."""
    action = data["action"]
    if action == "evaluate":
        got = client.evaluate(job_id)
        progress(f"nomad: asked Nomad to re-evaluate job {job_id}")
        return str(got.get("EvalID") or "") or None
    if action == "register":
        # New at plan time: no GET needed; JobModifyIndex 0 = "only if new", so a job
        # created meanwhile is refused by Nomad (check-index).
        got = client.register(data["job"], 0)
        progress(f"nomad: registered job {job_id} (new)")
        return str(got.get("EvalID") or "") or None
    recorded = int(data["modify_index"])
    current = _check_current(client, job_id, data)
    if action == "purge":
        if current is None:
            progress(f"nomad: job {job_id} is already gone")
            return None
        client.purge(job_id)
        progress(f"nomad: purged job {job_id}")
        return None
    job = data["job"]
    if action == "replace":
        if current is not None:
            client.purge(job_id)
            progress(f"nomad: purged job {job_id} (type change)")
        try:
            got = client.register(job, 0)
        except DriverError as exc:
            raise type(exc)(
                f"{exc} (job {job_id} was purged for its type change and the new job is not registered: "
                "its replicas are stopped until `modelsched plan` / `apply` registers it)"
            ) from None
        progress(f"nomad: registered job {job_id} (replace)")
        return str(got.get("EvalID") or "") or None
    if current is not None and not jobspec.differs(job, current):
        progress(f"nomad: job {job_id} unchanged, not registered")
        return None
    if current is None and recorded:
        raise ConflictError(
            f"Nomad at {client.conn.address}: job {job_id} disappeared since the plan was made; "
            "run `modelsched plan` again"
        )
    got = client.register(job, recorded)
    progress(f"nomad: registered job {job_id} ({action})")
    return str(got.get("EvalID") or "") or None


def run(
    client: NomadClient,
    plan: Plan,
    jobs: dict[str, dict[str, Any]],
    progress: Progress,
    *,
    wait: bool,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ApplyReport:
    report = ApplyReport()
    by_model: dict[str, list[Change]] = {}
    for c in plan.changes:
        by_model.setdefault(c.model, []).append(c)
    done: dict[str, str | None] = {}  # model -> eval ID
    order = sorted(jobs, key=lambda j: (_ORDER.get(jobs[j]["action"], 1), j))
    stopped = False
    for job_id in order:
        data = jobs[job_id]
        model = data["model"]
        if stopped:
            report.not_attempted.extend(by_model.get(model, []))
            report.messages.append(f"not attempted: {data['action']} job {job_id}")
            continue
        try:
            done[model] = _run_one(client, job_id, data, progress)
            report.messages.append(f"applied: {data['action']} job {job_id}")
        except DriverError as exc:
            stopped = True
            report.errors.append(str(exc))
            for c in by_model.get(model, []):
                report.failed.append((c, f"{data['action']} of job {job_id} failed"))
            report.messages.append(f"failed: {data['action']} job {job_id}")
    # Changes with no job operation are ones Nomad will not carry out (e.g. a replica on an
    # ineligible node in scheduler-chosen mode; the plan's note says why): not attempted.
    for model, changes in sorted(by_model.items()):
        if model not in done and not any(jobs[j]["model"] == model for j in jobs):
            report.not_attempted.extend(changes)
            report.messages.append(f"{model}: no Nomad operation can make these changes (see the plan's notes)")
    pending = {m: e for m, e in done.items()}
    lost: str | None = None
    if wait and pending:
        try:
            pending = _wait(client, jobs, pending, progress, timeout, clock, sleep)
        except DriverError as exc:
            # The job operations above are done (reported as applied jobs); only the check
            # of their allocations failed. Never let this hide what was done.
            lost = str(exc)
            report.errors.append(lost)
    for model in sorted(done):
        changes = by_model.get(model, [])
        if model in pending and wait:
            why = "could not check the allocations (see the error)" if lost else _failure(client, pending[model])
            report.failed.extend((c, why) for c in changes)
        else:
            report.applied.extend(changes)
    return report


def _matches(allocs: list[tuple[str, str, str]], running: set[str], data: dict[str, Any]) -> bool:
    nodes = sorted(n for m, n, a in allocs if m == data["model"] and a in running)
    want = data["wait"]
    if want.get("exact_nodes") is not None:
        return nodes == sorted(want["exact_nodes"])
    if want.get("at_least_nodes") is not None:
        return set(want["at_least_nodes"]) <= set(nodes)
    return len(nodes) == int(want["count"]) and len([1 for m, _, _ in allocs if m == data["model"]]) == len(nodes)


def _wait(
    client: NomadClient,
    jobs: dict[str, dict[str, Any]],
    pending: dict[str, str | None],
    progress: Progress,
    timeout: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> dict[str, str | None]:
    """Poll live allocations (one request per round) until each model matches its plan."""
    managed = {j: d["model"] for j, d in jobs.items()}
    by_model = {d["model"]: d for d in jobs.values()}
    deadline = clock() + timeout
    delay = 0.1
    progress(f"nomad: waiting for allocations of {len(pending)} job(s) (timeout {timeout:g}s)")
    while True:
        raw = client.allocations(translate.ALLOC_FILTER)
        allocs = translate.replicas_from_allocs(raw, managed)
        running = {str(a["ID"]) for a in raw if a.get("ClientStatus") == "running"}
        for model in sorted(pending):
            if _matches(allocs, running, by_model[model]):
                progress(f"nomad: {model}: allocations match the plan")
                del pending[model]
        if not pending or clock() >= deadline:
            return pending
        sleep(min(delay, max(0.0, deadline - clock())))
        delay = min(delay * 2, 2.0)


def _failure(client: NomadClient, eval_id: str | None) -> str:
    """Why a model's allocations did not match in time, with Nomad's placement failures."""
    base = "allocations did not match the plan before the timeout"
    if not eval_id:
        return base
    try:
        ev = client.evaluation(eval_id)
    except DriverError:
        return base
    failed = ev.get("FailedTGAllocs") or {}
    if not failed:
        return base
    return base + ": " + "; ".join(f"group {g}: {placement_failure(m)}" for g, m in sorted(failed.items()))
