"""Wait after apply until each model's allocations match its plan, reporting as it goes.

One `GET /v1/allocations?filter=DesiredStatus == "run"` per round (back-off 0.1 s to
2 s, never a busy poll). Per model: running of wanted, pending, failed, and Nomad's
placement failure text (the job's evaluation, read at most every `EVAL_EVERY` seconds
while the model is short) go to `progress.waiting(WaitStatus(...))`. "Matches" is the
model's `jobops.Wait`: exact nodes (pinned), at least these nodes (spread), or a count
(bounded); the allocations the plan stops are gone; after a destructive update every
allocation runs the new job version. Ctrl-C ends the wait: `interrupted`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelsched.drivers.base import ModelProgress, Progress, WaitStatus
from modelsched.drivers.nomad.client import NomadClient
from modelsched.drivers.nomad.dryrun import placement_failure
from modelsched.drivers.nomad.failures import plain
from modelsched.drivers.nomad.jobops import JobOp
from modelsched.drivers.nomad.translate import TERMINAL
from modelsched.errors import DriverError

WAIT_FILTER = 'DesiredStatus == "run"'
EVAL_EVERY = 5.0


@dataclass(frozen=True)
class Watch:
    """A model apply changed: its operation, the evaluation to ask about placement
    failures, and the job version its allocations must reach (destructive update)."""

    op: JobOp
    eval_id: str | None
    version: int | None = None


@dataclass
class Outcome:
    status: WaitStatus | None = None
    unmatched: dict[str, str] = field(default_factory=dict)  # model -> why it did not match
    error: str | None = None
    interrupted: bool = False


def _current(a: Mapping[str, Any], version: int | None) -> bool:
    v = a.get("JobVersion")
    return version is None or (isinstance(v, int) and v >= version)


def progress_of(w: Watch, allocs: Sequence[Mapping[str, Any]], detail: str = "") -> tuple[ModelProgress, bool]:
    """This model's progress and whether it matches its plan."""
    mine = [a for a in allocs if a.get("JobID") == w.op.job_id]
    live = [a for a in mine if a.get("ClientStatus") not in TERMINAL]
    running = [a for a in live if a.get("ClientStatus") == "running" and _current(a, w.version)]
    failed = sum(1 for a in mine if a.get("ClientStatus") == "failed")
    want = w.op.wait
    nodes = sorted(str(a.get("NodeID")) for a in running)
    gone = not ({str(a.get("ID")) for a in live} & set(want.gone))
    if want.exact_nodes is not None:
        ok = nodes == sorted(want.exact_nodes) and len(live) == len(running)
    elif want.at_least_nodes is not None:
        ok = set(want.at_least_nodes) <= set(nodes) and all(_current(a, w.version) for a in live)
    else:
        ok = len(running) == want.count and len(live) == len(running)
    prog = ModelProgress(
        model=w.op.model,
        running=len(running),
        wanted=want.count,
        pending=len(live) - len(running),
        failed=failed,
        detail=detail,
    )
    return prog, ok and gone


def _detail(client: NomadClient, eval_id: str | None) -> str:
    if not eval_id:
        return ""
    try:
        ev = client.evaluation(eval_id)
    except DriverError:
        return ""
    failed = ev.get("FailedTGAllocs") or {}
    if not isinstance(failed, dict):
        return ""
    return "; ".join(f"group {plain(str(g))}: {placement_failure(m)}" for g, m in sorted(failed.items()))


def _why(p: ModelProgress) -> str:
    text = (
        f"allocations did not match the plan before the timeout: {p.running}/{p.wanted} running, "
        f"{p.pending} pending, {p.failed} failed"
    )
    return text + (f"; Nomad: {p.detail}" if p.detail else "")


def wait_for(
    client: NomadClient,
    watches: Sequence[Watch],
    progress: Progress,
    timeout: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> Outcome:
    out = Outcome()
    start = clock()
    deadline = start + timeout
    delay = 0.1
    pending = {w.op.model: w for w in watches}
    details: dict[str, str] = {}
    asked: dict[str, float] = {}
    shown: dict[str, ModelProgress] = {}
    progress(f"nomad: waiting for allocations of {len(pending)} job(s) (timeout {timeout:g}s)")
    try:
        while True:
            try:
                allocs = client.allocations(WAIT_FILTER)
            except DriverError as exc:
                # The job operations are done; only the check failed. Never hide what was done.
                out.error = str(exc)
                out.unmatched = {m: "could not check the allocations (see the error)" for m in pending}
                return out
            now = clock()
            for model in sorted(pending):
                w = pending[model]
                prog, ok = progress_of(w, allocs, details.get(model, ""))
                if not ok and prog.running < prog.wanted and now - asked.get(model, -EVAL_EVERY) >= EVAL_EVERY:
                    asked[model] = now
                    details[model] = _detail(client, w.eval_id)
                    prog, ok = progress_of(w, allocs, details[model])
                shown[model] = prog
                if ok:
                    progress(f"nomad: {model}: allocations match the plan")
                    del pending[model]
            out.status = WaitStatus(elapsed=now - start, models=tuple(shown[m] for m in sorted(shown)))
            progress.waiting(out.status)
            if not pending:
                return out
            if now >= deadline:
                out.unmatched = {m: _why(shown[m]) for m in pending}
                return out
            sleep(min(delay, max(0.0, deadline - now)))
            delay = min(delay * 2, 2.0)
    except KeyboardInterrupt:
        out.interrupted = True
        out.unmatched = {m: "interrupted while waiting" for m in pending}
        return out
