"""LocalDriver: observe and apply against a cluster state file.

Observe reads the file once; its fingerprint is the sha256 of the bytes (cheap and
exact: any edit, even a reformat, makes a saved plan stale, which is the safe side).
Apply re-reads under an exclusive lock, refuses a stale plan, applies the changes
and rewrites the file atomically. The local driver manages every replica in its file.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

from modelsched.drivers.base import ApplyReport, Progress
from modelsched.drivers.local import parse, store
from modelsched.errors import StalePlanError, StateError
from modelsched.model.cluster import Observed
from modelsched.model.entry import Desired
from modelsched.model.plan import Change, Plan


def _fingerprint(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _observed(data: bytes, state: parse.State) -> Observed:
    nodes, replicas, notices = state
    return Observed(nodes=tuple(nodes), replicas=replicas, fingerprint=_fingerprint(data), notices=tuple(notices))


class LocalDriver:
    name = "local"

    def __init__(self, state: str | Path) -> None:
        self.path = Path(state).absolute()
        self.fmt = store.state_format(self.path)

    def cluster(self) -> dict[str, str]:
        return {"state": str(self.path)}

    def _load(self, data: bytes, text: str) -> tuple[dict[str, Any], Observed]:
        doc = parse.parse_document(text, str(self.path), self.fmt)
        state = parse.build_state(doc, str(self.path))
        if self.fmt == "json":
            parse.check_json_duplicates(text, doc, str(self.path))
        return doc, _observed(data, state)

    def observe(self, desired: Desired) -> Observed:
        data = store.read_state(self.path)
        text = store.decode(data, self.path)
        if self.fmt == "json":
            built = parse.build_json_state(text, str(self.path))
            if built is not None:
                return _observed(data, built)
        return self._load(data, text)[1]

    def prepare(self, plan: Plan, desired: Desired, observed: Observed) -> Plan:
        return plan

    def verify_config(self, plan: Plan, desired: Desired) -> None:
        """A local plan carries no driver data: its changes are checked against the state
        file's reader rules when applied."""

    def apply(self, plan: Plan, progress: Progress) -> ApplyReport:
        if any(d.level == "error" for d in plan.diagnostics):
            raise StateError("the plan has errors (see above); fix them before applying")
        with store.locked(self.path):
            data = store.read_state(self.path)
            if _fingerprint(data) != plan.observed_fingerprint:
                raise StalePlanError(
                    f"cluster state {self.path} changed since the plan was made; "
                    "nothing was applied: run `modelsched plan` again"
                )
            old = store.decode(data, self.path)
            doc, _ = self._load(data, old)
            replicas = _apply_changes(list(doc.get("replicas") or []), plan.changes, self.path)
            if self.fmt == "json":
                new = store.render_json(doc, replicas)
            else:
                new = store.render_yaml(old, doc, replicas)
            store.write_atomic(self.path, new)
        progress(f"wrote {self.path}")
        return ApplyReport(applied=list(plan.changes))


def _apply_changes(
    replicas: list[dict[str, str]], changes: list[Change], path: Path
) -> list[dict[str, str]]:
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
