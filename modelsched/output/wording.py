"""What every plan format says alike: label sets, cluster, totals, the summary line,
per-model tallies and the unlisted-model wording.

Returns plain (terminal-safe) text; each format adds its own markup and escaping for
its medium. Must not print, and must not read anything but the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from modelsched.model.plan import OperationAction, Plan, UnlistedModel
from modelsched.output.escape import escape_text


def raw_labels_text(labels: Mapping[str, str]) -> str:
    """`{k=v, ...}` sorted by key, not escaped (for callers that escape a whole block)."""
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"


def labels_text(labels: Mapping[str, str]) -> str:
    """`{k=v, ...}` sorted by key, escaped for a terminal."""
    return escape_text(raw_labels_text(labels))


def cluster_text(plan: Plan) -> str:
    # An empty value means the backend's default (e.g. Nomad's namespace and region).
    return escape_text(", ".join(f"{k} {v or '(default)'}" for k, v in sorted(plan.cluster.items())))


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def totals_text(plan: Plan) -> str:
    """`N to add, M to remove` and `, K to restart` when operations restart replicas."""
    s = plan.summary
    text = f"{s.add} to add, {s.remove} to remove"
    return text + (f", {s.restart} to restart" if s.restart else "")


# Terraform's and `nomad job plan`'s signs: `+` creates, `~` changes in place.
_SIGNS: dict[str, str] = {"register": "+", "create": "+"}


def operation_sign(action: OperationAction) -> str:
    return _SIGNS.get(action, "~")


def restarts_text(n: int) -> str:
    return f"{plural(n, 'replica')} restart" if n != 1 else "1 replica restarts"


@dataclass(slots=True)
class ModelTally:
    """Per-model counts drawn from the plan's changes and operations."""

    adds: int = 0
    removes: int = 0
    restarts: int = 0


def tally_models(plan: Plan) -> dict[str, ModelTally]:
    """Model name -> its adds, removes and restarts, in first-seen order (one pass)."""
    tallies: dict[str, ModelTally] = {}
    for c in plan.changes:
        t = tallies.get(c.model)
        if t is None:
            t = tallies[c.model] = ModelTally()
        if c.action == "add":
            t.adds += 1
        else:
            t.removes += 1
    for op in plan.operations:
        if op.model is not None and op.restarts:
            tallies.setdefault(op.model, ModelTally()).restarts += op.restarts
    return tallies


def unlisted_heading(plan: Plan, pruned: bool) -> str:
    """The heading of the unlisted models' list: left alone (and what --prune would do),
    or pruned."""
    if pruned:
        return "Not in the configuration, pruned (--prune): their replicas are removed"
    if plan.prune:
        return "Not in the configuration, left alone"
    return "Not in the configuration, left alone (--prune would remove them)"


def unlisted_groups(plan: Plan) -> list[tuple[bool, list[UnlistedModel]]]:
    """The unlisted models split into (pruned, models) lists, pruned last; empty lists left out."""
    kept = [u for u in plan.unlisted if not u.pruned]
    pruned = [u for u in plan.unlisted if u.pruned]
    return [(flag, group) for flag, group in ((False, kept), (True, pruned)) if group]


def unlisted_text(u: UnlistedModel) -> str:
    return f"{escape_text(u.model)}: {plural(u.replicas, 'replica')} on {plural(u.nodes, 'node')}"
