"""Apply a prepared LocalAI plan: write rows, read them back, delete pruned rows, unload
replicas on the wrong nodes, then wait for LocalAI's reconciler.

Order: row writes first (so the reconciler sees the new selector before anything is
unloaded), one read-back of every row, deletes, unloads, then the wait. The first failed
request stops the run: what follows is reported as not attempted, so a re-run (plan
again) converges. Ctrl-C stops it too and the report says what was done. Never prints:
the Reporter only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from modelsched.drivers.base import ApplyReport, ModelProgress, Reporter, WaitStatus
from modelsched.drivers.localai import wire
from modelsched.drivers.localai.client import LocalAIClient
from modelsched.drivers.localai.data import Expect, PlanData, Snapshot
from modelsched.drivers.localai.observe import snapshot
from modelsched.drivers.localai.prepare import row_diff
from modelsched.errors import DriverError
from modelsched.model.plan import Plan

POLL_SECONDS = 3.0  # between wait rounds (three requests each); tests lower it
# How long apply waits by default: two of LocalAI's reconciler ticks (every 30 s) and a load.
DEFAULT_WAIT = 90.0


@dataclass
class Timing:
    wait: bool = True
    timeout: float = field(default_factory=lambda: DEFAULT_WAIT)
    poll: float = field(default_factory=lambda: POLL_SECONDS)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass
class _Run:
    client: LocalAIClient
    data: PlanData
    progress: Reporter
    report: ApplyReport = field(default_factory=ApplyReport)
    failed: dict[str, str] = field(default_factory=dict)  # model -> why
    stopped: bool = False

    @property
    def address(self) -> str:
        return self.client.conn.address

    def step(self, model: str | None, what: str, fn: Callable[[], object]) -> bool:
        """Run one request; on failure stop the run and, when `model` is given, fail its
        changes (a row that is not as planned)."""
        if self.stopped:
            self.report.messages.append(f"not attempted: {what}")
            return False
        try:
            fn()
        except KeyboardInterrupt:
            self.report.messages.append(f"interrupted: {what} (it may or may not have been done)")
            raise
        except DriverError as exc:
            self.stopped = True
            self.report.errors.append(str(exc))
            self.report.messages.append(f"failed: {what}")
            if model is not None:
                self.failed.setdefault(model, f"{what} failed")
            return False
        self.report.messages.append(f"applied: {what}")
        self.progress(f"localai: {what}: done")
        return True

    def read_back(self) -> None:
        """One GET of every row: each written row must be stored as sent."""
        if self.stopped or not self.data.writes:
            return
        try:
            stored = {r.spec.model_name: r for r in wire.rows(self.address, self.client.rows())}
        except DriverError as exc:
            self.stopped = True
            self.report.errors.append(f"{exc} (reading the written rows back)")
            for w in self.data.writes:
                self.failed.setdefault(w.spec.model_name, "its row could not be read back")
            return
        for w in self.data.writes:
            m = w.spec.model_name
            got = stored.get(m)
            if got is None or got.spec != w.spec:
                diff = "absent" if got is None else ", ".join(row_diff(w.spec, got.spec))
                why = f"LocalAI at {self.address} did not store the scheduling row of {m} as written ({diff})"
                self.report.errors.append(why)
                self.failed.setdefault(m, why)


class _View:
    """One observed snapshot, indexed once for every awaited model (a poll round costs
    O(nodes + replicas + models), not O(models x (nodes + replicas)))."""

    def __init__(self, snap: Snapshot) -> None:
        self.names = {n.id: n.name for n in snap.nodes}
        self.rows = snap.row_map()
        self.replicas: dict[str, list[str]] = {}  # model -> node ID of each loaded replica
        for r in snap.replicas:
            self.replicas.setdefault(r.model, []).append(r.node_id)
        self._schedulable = [n for n in snap.nodes if n.schedulable]
        self._matching: dict[tuple[tuple[str, str], ...], frozenset[str]] = {}

    def matching(self, selector: dict[str, str]) -> frozenset[str]:
        """IDs of the schedulable nodes carrying every label of `selector` (one scan per selector)."""
        key = tuple(sorted(selector.items()))
        found = self._matching.get(key)
        if found is None:
            found = frozenset(n.id for n in self._schedulable if all(n.labels.get(k) == v for k, v in key))
            self._matching[key] = found
        return found


def _count(view: _View, e: Expect) -> tuple[int, list[str], list[str]]:
    """(replicas on matching nodes, names of other nodes holding it, names of gone_from nodes holding it)."""
    matching = view.matching(e.selector) if e.listed else frozenset()
    gone = set(e.gone_from)
    running, wrong, stray = 0, [], []
    for node_id in view.replicas.get(e.model, ()):
        name = view.names.get(node_id, node_id)
        if node_id in gone:
            stray.append(name)
        elif e.listed and node_id in matching:
            running += 1
        elif e.listed:
            wrong.append(name)
    return running, sorted(set(wrong)), sorted(set(stray))


def _progress_of(view: _View, e: Expect) -> tuple[bool, ModelProgress]:
    running, wrong, stray = _count(view, e)
    wanted = e.target if e.target is not None else 0
    details = []
    row = view.rows.get(e.model)
    if row is not None and row.unsatisfiable_until:
        details.append(
            f"LocalAI capacity cooldown until {row.unsatisfiable_until} (no free slot on a matching node for "
            "3 reconciler ticks)"
        )
    if wrong or stray:
        details.append("still loaded on " + ", ".join(sorted(set(wrong) | set(stray))))
    done = (e.target is None or running == e.target) and not wrong and not stray
    return done, ModelProgress(e.model, running, wanted, pending=max(0, wanted - running), detail="; ".join(details))


def _say_outcome(run: _Run, expect: list[Expect], waited: dict[str, ModelProgress], t: Timing) -> None:
    """One line per awaited model: converged, or not and why."""
    for e in expect:
        if e.model in waited:
            run.report.messages.append(f"{e.model}: not converged: {_why_not(waited[e.model], e, t.timeout)}")
            continue
        prog = run.report.status and next((m for m in run.report.status.models if m.model == e.model), None)
        counted = f"{prog.running} replica(s) on matching nodes" if prog and e.target is not None else "unloaded"
        run.report.messages.append(f"{e.model}: converged ({counted})")


def _wait(run: _Run, expect: list[Expect], t: Timing) -> dict[str, ModelProgress]:
    """Poll (three requests a round) until every model matches; return the ones that do not."""
    start = t.clock()
    deadline = start + t.timeout
    left = {e.model: e for e in expect}
    last: dict[str, ModelProgress] = {}
    run.progress(f"localai: waiting for LocalAI's reconciler to place {len(left)} model(s) (timeout {t.timeout:g}s)")
    while True:
        view = _View(snapshot(run.client, run.data.listed))
        for model in sorted(left):
            done, prog = _progress_of(view, left[model])
            last[model] = prog
            if done:
                run.progress(f"localai: {model}: placement matches the plan")
                del left[model]
        run.report.status = WaitStatus(round(t.clock() - start, 1), tuple(last[m] for m in sorted(last)))
        run.progress.waiting(run.report.status)
        if not left or t.clock() >= deadline:
            return {m: last[m] for m in left}
        t.sleep(min(t.poll, max(0.0, deadline - t.clock())))


def _why_not(prog: ModelProgress, e: Expect, timeout: float) -> str:
    if e.target is None:
        why = f"still loaded after {timeout:g}s"
    else:
        why = f"{prog.running} of {prog.wanted} replicas on matching nodes after {timeout:g}s"
    if prog.detail:
        why += f"; {prog.detail}"
    if e.target and prog.running == 0:
        why += (
            f"; if {e.model} has never served a request, LocalAI cannot replicate it: send it one request, "
            "then run apply again"
        )
    return why


def run(client: LocalAIClient, plan: Plan, data: PlanData, progress: Reporter, t: Timing) -> ApplyReport:
    r = _Run(client, data, progress)
    unloaded: dict[tuple[str, str], bool] = {}  # (model, node ID) -> done; absent: not attempted
    waited: dict[str, ModelProgress] | None = None  # models still off the plan after the wait
    try:
        for w in sorted(data.writes, key=lambda w: w.spec.model_name):
            m = w.spec.model_name
            r.step(m, f"{w.action} scheduling row {m}",
                   partial(client.set_row, w.spec.body()))
        r.read_back()
        for m in sorted(data.deletes):
            r.step(m, f"delete scheduling row {m}", partial(client.delete_row, m))
        for u in sorted(data.unloads, key=lambda u: (u.model, u.node_name, u.node_id)):
            attempted = not r.stopped
            ok = r.step(None, f"unload {u.model} on node {u.node_name}",
                        partial(client.unload, u.node_id, u.model, u.node_name))
            if attempted:
                unloaded[(u.model, u.node_id)] = ok
        expect = [e for e in data.expect if e.model not in r.failed]
        if t.wait and not r.stopped and expect:
            try:
                waited = _wait(r, expect, t)
                _say_outcome(r, expect, waited, t)
            except DriverError as exc:
                r.stopped = True
                r.report.errors.append(f"{exc} (while waiting for LocalAI's reconciler; the steps above were done)")
    except KeyboardInterrupt:
        r.report.interrupted = True
        r.stopped = True
    _classify(r, plan, unloaded, waited, t)
    if not t.wait and not r.stopped and any(c.action == "add" for c in plan.changes):
        r.report.messages.append("not waited for (--no-wait): LocalAI's reconciler places additions within ~30s")
    return r.report


def _classify(
    r: _Run, plan: Plan, unloaded: dict[tuple[str, str], bool], waited: dict[str, ModelProgress] | None, t: Timing
) -> None:
    """Each planned change: applied, failed (with why) or not attempted. An addition not
    awaited (--no-wait) is none of these: its row is written, but which node LocalAI
    picks, and when, is not known, so it is said per model in the messages."""
    expects = {e.model: e for e in r.data.expect}
    left_to_localai: dict[str, int] = {}
    for c in plan.changes:
        if c.action == "remove":
            done = unloaded.get((c.model, c.node_id))
            if done is True:
                r.report.applied.append(c)
            elif done is False:
                r.report.failed.append((c, f"unload {c.model} on node {c.node} failed (see the error)"))
            else:  # not reached, or a partial removal LocalAI cannot do (see the plan's note)
                r.report.not_attempted.append(c)
        elif c.model in r.failed:
            r.report.failed.append((c, r.failed[c.model]))
        elif waited is not None and c.model in waited:
            r.report.failed.append((c, _why_not(waited[c.model], expects[c.model], t.timeout)))
        elif waited is not None:
            r.report.applied.append(c)
        elif not r.stopped:  # --no-wait: the row is as planned; where the replica goes is LocalAI's
            left_to_localai[c.model] = left_to_localai.get(c.model, 0) + 1
        else:
            r.report.not_attempted.append(c)
    written = {w.spec.model_name for w in r.data.writes}
    for model, count in sorted(left_to_localai.items()):
        row = "row written" if model in written else "row already as planned"
        r.report.messages.append(
            f"{model}: {count} replica(s) to add: {row}; placement left to LocalAI (not awaited)"
        )
