"""A saved plan's LocalAI driver data must do exactly what the plan shows.

`show` and the confirmation display the plan's changes and operations; apply runs the
driver data. A plan file edited in transit could make the two differ (write a row with
other counts or another selector, delete rows of models the plan never mentions, unload
a model elsewhere), so before any request apply checks, and refuses with PlanFileError:

- every unload is a planned removal on that node;
- every delete is of an unlisted model (not in the plan's models nor the config's), in a
  `--prune` plan without `--target`, with its shown `delete` operation, and the other way
  round;
- every write matches one shown `create`/`update` operation of its model, 1:1: same
  action, the shown detail is exactly what the written spec renders to (`describe`, as
  prepare renders it), the selector and mode are the plan's for that model, and a
  create's shown diff is the spec's.

An update's shown diff depends on the row it replaces: `check_diffs` compares it once
apply has re-observed the rows (still before any write). Pure: no I/O.
"""

from __future__ import annotations

from modelsched.drivers.localai.data import PlanData, Snapshot
from modelsched.drivers.localai.prepare import describe, row_diff, row_target
from modelsched.errors import PlanFileError
from modelsched.model.plan import Operation, Plan

_ROW_WRITES = ("create", "update")


def _refuse(what: str) -> PlanFileError:
    return PlanFileError(f"corrupt plan file: LocalAI driver data {what}; nothing was applied")


def check(plan: Plan, data: PlanData) -> None:
    """Refuse driver data that does anything the plan does not show."""
    _check_unloads(plan, data)
    _check_deletes(plan, data)
    _check_writes(plan, data)


def _check_unloads(plan: Plan, data: PlanData) -> None:
    removals = {(c.model, c.node_id) for c in plan.changes if c.action == "remove"}
    for u in data.unloads:
        if (u.model, u.node_id) not in removals:
            raise _refuse(f"unloads {u.model} on node {u.node_name}, which the plan's changes do not remove")


def _row_ops(plan: Plan, actions: tuple[str, ...]) -> dict[str, Operation]:
    """Model -> its shown row operation of one of `actions`; two for one model is corrupt."""
    ops: dict[str, Operation] = {}
    for op in plan.operations:
        if op.action not in actions:
            continue
        if op.model is None or op.target != row_target(op.model):
            raise _refuse(f"comes with a {op.action} operation on {op.target!r}, which is not a scheduling row")
        if op.model in ops:
            raise _refuse(f"comes with a plan showing two scheduling row operations for {op.model}")
        ops[op.model] = op
    return ops


def _check_deletes(plan: Plan, data: PlanData) -> None:
    shown = _row_ops(plan, ("delete",))
    listed = {mp.model for mp in plan.models} | set(data.listed)
    for m in data.deletes:
        if not plan.prune or plan.targets:
            raise _refuse(f"deletes the scheduling row of {m}, but the plan does not prune (--prune, no --target)")
        if m in listed:
            raise _refuse(f"deletes the scheduling row of {m}, a model the config lists")
        if m not in shown:
            raise _refuse(f"deletes the scheduling row of {m}, which the plan does not show")
    for m in sorted(set(shown) - set(data.deletes)):
        raise _refuse(f"does not delete the scheduling row of {m}, which the plan shows deleted")


def _check_writes(plan: Plan, data: PlanData) -> None:
    shown = _row_ops(plan, _ROW_WRITES)
    models = {mp.model: mp for mp in plan.models}
    for w in data.writes:
        m = w.spec.model_name
        op = shown.get(m)
        if op is None or op.action != w.action:
            raise _refuse(f"does {w.action} the scheduling row of {m}, which the plan does not show")
        rendered = describe(w.spec)
        if op.detail != rendered:
            raise _refuse(f"writes the scheduling row of {m} as {rendered!r}, but the plan shows {op.detail!r}")
        mp = models.get(m)
        if mp is None:
            raise _refuse(f"writes the scheduling row of {m}, a model the plan does not cover")
        if w.spec.node_selector != mp.selector or w.spec.spread_all != (mp.mode == "spread"):
            raise _refuse(f"writes the scheduling row of {m} with a selector or mode other than the plan's for it")
        if w.action == "create" and op.diff != row_diff(None, w.spec):
            raise _refuse(f"writes the scheduling row of {m} with fields other than the plan's diff shows")
    for m in sorted(set(shown) - {w.spec.model_name for w in data.writes}):
        raise _refuse(f"does not write the scheduling row of {m}, which the plan shows written")


def check_diffs(plan: Plan, data: PlanData, snap: Snapshot) -> None:
    """Each write's shown diff is the diff from the row LocalAI holds now to the spec (the
    rows are as planned: the caller has compared fingerprints)."""
    shown = _row_ops(plan, _ROW_WRITES)
    rows = snap.row_map()
    for w in data.writes:
        m = w.spec.model_name
        current = rows.get(m)
        action = "create" if current is None else "update"
        if action != w.action or shown[m].diff != row_diff(current.spec if current else None, w.spec):
            raise _refuse(f"writes the scheduling row of {m} with fields other than the plan's diff shows")

