"""Apply prepared Nomad job operations: check-index registers, allocation stops, then wait.

Order: every model's operation in job ID order, purges last. Per job: GET it and refuse
if its modify index moved since the plan (a purge also needs it to still be ours), skip
a register whose job equals the live one (registering an unchanged job still creates an
evaluation: NOMAD.md), stop exactly the allocations the plan names, then register with
EnforceIndex. The first failure stops the run: later jobs are not attempted, so a re-run
converges. Ctrl-C stops between requests or while waiting and returns the report
(`interrupted`). Decides only from the typed `JobOp`s, never from a change's reason.
Never prints: `progress` only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from modelsched.drivers.base import ApplyReport, Progress
from modelsched.drivers.nomad import jobdiff, translate
from modelsched.drivers.nomad.client import ConflictError, NomadClient
from modelsched.drivers.nomad.jobops import JobOp
from modelsched.drivers.nomad.waiting import Watch, wait_for
from modelsched.errors import DriverError
from modelsched.model.plan import Change, Plan


def _check_current(client: NomadClient, op: JobOp) -> dict[str, object] | None:
    """GET the job right before changing it; refuse if it moved since the plan.

    Check-index protects registers, but a purge or an allocation stop has no EnforceIndex:
    this GET is the last look before it. A pruned job must also still be ours (job Meta)."""
    current = client.job(op.job_id)
    if current is None:
        return None
    index = current.get("JobModifyIndex")
    if not isinstance(index, int) or index != op.modify_index:
        raise ConflictError(
            f"Nomad at {client.conn.address}: job {op.job_id} changed since the plan was made "
            f"(modify index {index}, plan recorded {op.modify_index}); it was left alone: run `modelsched plan` again"
        )
    if op.kind == "purge" and translate.job_info(current).model != op.model:
        raise ConflictError(
            f"Nomad at {client.conn.address}: job {op.job_id} is no longer modelsched's job for model "
            f"{op.model!r} (job Meta changed); it was left alone: run `modelsched plan` again"
        )
    return current


def _eval(got: dict[str, object]) -> str | None:
    return str(got.get("EvalID") or "") or None


def _job_op(client: NomadClient, op: JobOp, progress: Progress) -> str | None:
    """Do the job part of one operation; return the evaluation ID to watch (if any)."""
    if op.kind == "evaluate":
        got = client.evaluate(op.job_id)
        progress(f"nomad: asked Nomad to re-evaluate job {op.job_id}")
        return _eval(got)
    if op.kind == "register":
        # New at plan time: JobModifyIndex 0 = "only if new", so a job created meanwhile
        # is refused by Nomad (check-index).
        assert op.job is not None
        got = client.register(op.job, 0)
        progress(f"nomad: registered job {op.job_id} (new)")
        return _eval(got)
    current = _check_current(client, op)
    if op.kind == "purge":
        if current is None:
            progress(f"nomad: job {op.job_id} is already gone")
            return None
        client.purge(op.job_id)
        progress(f"nomad: purged job {op.job_id}")
        return None
    if current is None and op.modify_index:
        raise ConflictError(
            f"Nomad at {client.conn.address}: job {op.job_id} disappeared since the plan was made; "
            "run `modelsched plan` again"
        )
    # Stops first: Nomad marks each for migration (Alloc.Stop). A service allocation with
    # nowhere to go stays, still marked, and a count decrease in the register below stops
    # marked allocations before any other (computeStop prefers the migrating set).
    for s in op.stops:
        client.stop_allocation(s.alloc_id)
        progress(f"nomad: stopped allocation {s.alloc_id[:8]} of job {op.job_id} on node {s.node_id[:8]}")
    if op.kind == "stop":
        return None
    assert op.job is not None
    if op.kind == "replace":
        if current is not None:
            client.purge(op.job_id)
            progress(f"nomad: purged job {op.job_id} (type change)")
        try:
            got = client.register(op.job, 0)
        except DriverError as exc:
            raise type(exc)(
                f"{exc} (job {op.job_id} was purged for its type change and the new job is not registered: "
                "its replicas are stopped until `modelsched plan` / `apply` registers it)"
            ) from None
        progress(f"nomad: registered job {op.job_id} (replace)")
        return _eval(got)
    if current is not None and not jobdiff.differs(op.job, current):
        progress(f"nomad: job {op.job_id} unchanged, not registered")
        return None
    got = client.register(op.job, op.modify_index)
    progress(f"nomad: registered job {op.job_id} ({op.kind})")
    return _eval(got)


def _version(client: NomadClient, op: JobOp) -> int | None:
    """The job version allocations must reach: only for a destructive update (restarts)."""
    if not op.restarts:
        return None
    got = client.job(op.job_id)
    version = got.get("Version") if got else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


@dataclass
class _Run:
    report: ApplyReport
    by_model: dict[str, list[Change]]


def _order(ops: Sequence[JobOp]) -> list[JobOp]:
    return sorted(ops, key=lambda op: (op.kind == "purge", op.job_id))


def run(
    client: NomadClient,
    plan: Plan,
    ops: Sequence[JobOp],
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
    done: list[Watch] = []
    order = _order(ops)
    stopped = False
    for i, op in enumerate(order):
        if stopped:
            report.not_attempted.extend(by_model.get(op.model, []))
            report.messages.append(f"not attempted: {op.kind} job {op.job_id}")
            continue
        try:
            eval_id = _job_op(client, op, progress)
            done.append(Watch(op, eval_id, _version(client, op) if wait else None))
            report.messages.append(f"applied: {op.kind} job {op.job_id}")
        except DriverError as exc:
            stopped = True
            report.errors.append(str(exc))
            report.failed.extend((c, f"{op.kind} of job {op.job_id} failed") for c in by_model.get(op.model, []))
            report.messages.append(f"failed: {op.kind} job {op.job_id}")
        except KeyboardInterrupt:
            stopped = report.interrupted = True
            report.not_attempted.extend(by_model.get(op.model, []))
            report.messages.append(
                f"interrupted during {op.kind} of job {op.job_id}: it may or may not have been done; "
                f"{len(order) - i - 1} later job(s) not attempted. Run `modelsched plan` to see where it stands"
            )
    # Changes with no job operation (a blocked model, or nothing Nomad needs to do): none left.
    touched = {op.model for op in ops}
    for model, changes in sorted(by_model.items()):
        if model not in touched:
            report.not_attempted.extend(changes)
            report.messages.append(f"{model}: no Nomad operation can make these changes (see the plan's notes)")
    pending = [w for w in done if w.op.kind != "purge"] if wait else []
    failures: dict[str, str] = {}
    if pending and not report.interrupted:
        outcome = wait_for(client, pending, progress, timeout, clock, sleep)
        report.status = outcome.status
        failures = outcome.unmatched
        if outcome.error:
            report.errors.append(outcome.error)
        if outcome.interrupted:
            report.interrupted = True
    for w in done:
        changes = by_model.get(w.op.model, [])
        if w.op.model not in failures:
            report.applied.extend(changes)
        elif report.interrupted:
            report.not_attempted.extend(changes)
            report.messages.append(f"{w.op.model}: sent to Nomad, not yet confirmed when interrupted")
        else:
            report.failed.extend((c, failures[w.op.model]) for c in changes)
    return report
