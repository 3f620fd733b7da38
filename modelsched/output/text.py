"""The Terraform-like text plan: a block per changed model, one `+`/`-` line per node,
driver operations with their restarts and field diffs, unlisted models, diagnostics,
then the summary line.

Every piece of data is escaped (`escape_text`) before it is laid out, so the only
newlines, tabs and escape sequences in the result are this module's own. Linear in
the number of changes. Must not print.
"""

from __future__ import annotations

from modelsched.model.plan import Change, Operation, Plan
from modelsched.output.escape import escape_text, has_unsafe
from modelsched.output.terminal import paint
from modelsched.output.wording import (
    cluster_text,
    labels_text,
    operation_sign,
    raw_labels_text,
    restarts_text,
    totals_text,
    unlisted_groups,
    unlisted_heading,
    unlisted_text,
)

_DIFF_TINTS = {"+": "green", "-": "red", "~": "yellow"}


def _change_lines(changes: list[Change], labels_cache: dict[int, str], safe: bool) -> list[str]:
    """One `+`/`-` line per change, node names padded to one width. `safe=False` lays
    the data out as it is (the caller checks the block for characters to escape)."""
    esc = escape_text if safe else str
    nodes = [esc(c.node) for c in changes]
    width = max(len(n) for n in nodes)
    lines = []
    for c, node in zip(changes, nodes, strict=True):
        labels = labels_cache.get(id(c.labels))
        if labels is None:
            labels = labels_cache[id(c.labels)] = raw_labels_text(c.labels)
        note = f" ({c.note})" if c.note else ""
        sign = "+" if c.action == "add" else "-"
        lines.append(f"{sign} {node.ljust(width)}  {esc(labels)}  {esc(c.reason)}{esc(note)}")
    return lines


def _model_blocks(plan: Plan, colour: bool) -> list[str]:
    out: list[str] = []
    # Changes on one node share its labels mapping: lay each mapping out once. The plan
    # holds every mapping for the whole call, so an id is never reused within it.
    labels_cache: dict[int, str] = {}
    models = {m.model: m for m in plan.models}
    by_model: dict[str, list[Change]] = {}
    for c in plan.changes:
        by_model.setdefault(c.model, []).append(c)
    if by_model:
        out.append(f"modelsched will change these replicas ({escape_text(plan.driver)}: {cluster_text(plan)}):")
        out.append("")
    for model, changes in by_model.items():
        m = models.get(model)
        name = escape_text(model)
        if m is not None:
            head = (
                f"# {name} ({m.mode}, selector {labels_text(m.selector)}): "
                f"{m.current} -> {m.target} replicas, {m.matching_nodes} matching node(s)"
            )
        else:
            head = f"# {name} (not listed: pruned)"
        out.append("  " + paint(head, None, colour, bold=True))
        lines = _change_lines(changes, labels_cache, safe=False)
        if has_unsafe("".join(lines)):  # data with control characters: escape field by field
            lines = _change_lines(changes, labels_cache, safe=True)
        for c, line in zip(changes, lines, strict=True):
            out.append("  " + paint(line, "green" if c.action == "add" else "red", colour))
        out.append("")
    return out


def _operation_lines(op: Operation, colour: bool) -> list[str]:
    sign = operation_sign(op.action)
    detail = f": {escape_text(op.detail)}" if op.detail else ""
    line = f"  {sign} {op.action} {escape_text(op.target)}{detail}"
    if op.restarts:
        line += f" ({restarts_text(op.restarts)})"
    out = [paint(line, "green", colour) if sign == "+" else line]
    for d in op.diff:
        shown = escape_text(d)
        out.append("      " + paint(shown, _DIFF_TINTS.get(shown[:1]), colour))
    return out


def _unlisted_lines(plan: Plan) -> list[str]:
    out: list[str] = []
    for pruned, group in unlisted_groups(plan):
        out.append(unlisted_heading(plan, pruned) + ":")
        out += [f"  {'- ' if pruned else ''}{unlisted_text(u)}" for u in group]
        out.append("")
    return out


def format_text(plan: Plan, colour: bool = False) -> str:
    out = _model_blocks(plan, colour)
    if plan.operations:
        out.append(f"{escape_text(plan.driver)} operations:")
        for op in plan.operations:
            out += _operation_lines(op, colour)
        out.append("")
    out += _unlisted_lines(plan)
    for d in plan.diagnostics:
        tint = "yellow" if d.level == "warning" else "red"
        who = f"{escape_text(d.model)}: " if d.model else ""
        out.append(paint(f"{d.level.capitalize()}: {who}{escape_text(d.message)}", tint, colour))
    if plan.diagnostics:
        out.append("")
    if plan.has_changes:
        out.append(paint(f"Plan: {totals_text(plan)}.", None, colour, bold=True))
    elif plan.unlisted:
        out.append(paint("No changes.", "green", colour, bold=True) + " The listed models match the configuration.")
    else:
        out.append(paint("No changes.", "green", colour, bold=True) + " The cluster matches the configuration.")
    return "\n".join(out) + "\n"
