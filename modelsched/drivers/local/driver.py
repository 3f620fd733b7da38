"""LocalDriver: observe and apply against a cluster state file.

Observe reads the file once; its fingerprint is the sha256 of the bytes (cheap and
exact: any edit, even a reformat, makes a saved plan stale, which is the safe side).
Apply takes the state lock (waiting at most `lock_timeout` seconds), re-reads, refuses
a stale plan saying what moved, checks every change against the state's own rules,
applies the changes and rewrites the file atomically (through a symlink, keeping owner,
group, mode, line endings and, in YAML, comments). The driver manages every replica
in its file.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from pathlib import Path

from modelsched.drivers.base import ApplyReport, Progress
from modelsched.drivers.local import build, files, lock, reader, rules, store
from modelsched.errors import StalePlanError, StateError, UsageError
from modelsched.model.cluster import Observed
from modelsched.model.drift import stale_message
from modelsched.model.entry import Desired
from modelsched.model.plan import Change, Plan


def _fingerprint(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _observed(data: bytes, state: build.State) -> Observed:
    nodes, replicas, notices = state
    return Observed(nodes=tuple(nodes), replicas=replicas, fingerprint=_fingerprint(data), notices=tuple(notices))


def state_format(path: Path) -> str:
    return "json" if path.suffix.lower() == ".json" else "yaml"


class LocalDriver:
    name = "local"

    def __init__(self, state: str | Path, *, lock_timeout: float = 0.0) -> None:
        if not (isinstance(lock_timeout, (int, float)) and math.isfinite(lock_timeout) and lock_timeout >= 0):
            raise UsageError(f"the lock timeout must be a finite number of seconds >= 0, got {lock_timeout!r}")
        self.path = Path(state).absolute()
        self.fmt = state_format(self.path)
        self.lock_timeout = float(lock_timeout)

    def cluster(self) -> dict[str, str]:
        return {"state": str(self.path)}

    def observe(self, desired: Desired) -> Observed:
        data = files.read(self.path)
        return _observed(data, reader.read(data, str(self.path), self.fmt)[1])

    def prepare(self, plan: Plan, desired: Desired, observed: Observed) -> Plan:
        return plan

    def verify_config(self, plan: Plan, desired: Desired) -> None:
        """A local plan carries no driver data: its changes are checked against the state
        file's reader rules when applied."""

    def apply(self, plan: Plan, progress: Progress) -> ApplyReport:
        if any(d.level == "error" for d in plan.diagnostics):
            raise StateError("the plan has errors (see above); fix them before applying")
        source = str(self.path)
        for i, change in enumerate(plan.changes):
            rules.check_replica(change.model, change.node_id, f"plan: changes[{i}]")
        real = files.target(self.path)
        with lock.locked(real, self.path, timeout=self.lock_timeout, notify=progress):
            data = files.read(self.path)
            if _fingerprint(data) != plan.observed_fingerprint:
                now = _observed(data, reader.read(data, source, self.fmt)[1])
                raise StalePlanError(stale_message(plan.observed_nodes, now))
            doc, _ = reader.read(data, source, self.fmt, document=True)
            assert doc is not None
            replicas = _apply_changes(list(doc.get("replicas") or []), plan.changes, self.path)
            new = store.render(self.fmt, build.decode(data, source), doc, replicas).encode("utf-8")
            reader.read(new, source, self.fmt)  # never write what the reader would refuse
            files.write_atomic(self.path, new)
        progress(f"wrote {self.path}")
        return ApplyReport(applied=list(plan.changes))


def _apply_changes(replicas: list[dict[str, str]], changes: list[Change], path: Path) -> list[dict[str, str]]:
    """Remove one replica per remove change (the last copies, so the first on a node stays),
    then append the additions in plan order."""
    to_remove = Counter((c.model, c.node_id) for c in changes if c.action == "remove")
    kept_reversed: list[dict[str, str]] = []
    for r in reversed(replicas):
        key = (r["model"], r["node"])
        if to_remove.get(key, 0) > 0:
            to_remove[key] -= 1
            continue
        kept_reversed.append(r)
    missing = +to_remove
    if missing:
        (model, node), _ = sorted(missing.items())[0]
        raise StateError(
            f"cluster state {path}: the plan removes a replica of {model!r} on {node!r} "
            "that is not there; nothing was applied"
        )
    kept_reversed.reverse()
    kept_reversed.extend({"model": c.model, "node": c.node_id} for c in changes if c.action == "add")
    return kept_reversed
