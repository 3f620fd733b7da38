"""The Markdown plan for pull-request comments: the summary line, a per-model table,
driver operations (restarts, field diffs), unlisted models, diagnostics, then the
per-node rows in a collapsed section, cut to fit `max_chars`.

A comment holds 65,536 characters, so the per-model table always comes first and the
per-node rows are cut with a line saying how many were left out and where the full
plan is. Every data field is a code span (`md_code`) or a fenced block (`md_fence`):
no label or name can inject HTML, links, mentions or table cells. Must not print.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from modelsched.model.plan import Plan
from modelsched.output.escape import escape_text, md_code, md_fence
from modelsched.output.wording import (
    ModelTally,
    cluster_text,
    labels_text,
    operation_sign,
    tally_models,
    totals_text,
    unlisted_groups,
    unlisted_heading,
    unlisted_text,
)

MAX_MARKDOWN_CHARS = 60_000  # a pull-request comment holds 65,536

_MODEL_HEAD = [
    "| Model | Mode | Selector | Current -> Target | Adds | Removes | Restarts |",
    "|---|---|---|---:|---:|---:|---:|",
]
_NODE_HEAD = ["| Model | Node | Change | Labels | Reason |", "|---|---|---|---|---|"]


def _model_rows(plan: Plan) -> list[str]:
    tallies = tally_models(plan)
    none = ModelTally()
    rows = []
    listed = set()
    for m in plan.models:
        listed.add(m.model)
        t = tallies.get(m.model, none)
        rows.append(
            f"| {md_code(m.model)} | {m.mode} | {md_code(labels_text(m.selector))} | "
            f"{m.current} -> {m.target} | {t.adds} | {t.removes} | {t.restarts} |"
        )
    replicas = {u.model: u.replicas for u in plan.unlisted}
    for model, t in tallies.items():
        if model not in listed and (t.adds or t.removes):
            current = replicas.get(model, t.removes)
            rows.append(
                f"| {md_code(model)} | not listed (pruned) | - | "
                f"{current} -> {current + t.adds - t.removes} | {t.adds} | {t.removes} | {t.restarts} |"
            )
    return rows


def _operation_lines(plan: Plan) -> list[str]:
    if not plan.operations:
        return []
    out = ["| Model | Target | Operation | Restarts | Detail |", "|---|---|---|---:|---|"]
    for op in plan.operations:
        model = md_code(op.model) if op.model is not None else "-"
        detail = md_code(op.detail) if op.detail else ""
        out.append(
            f"| {model} | {md_code(op.target)} | {operation_sign(op.action)} {op.action} | {op.restarts} | {detail} |"
        )
    out.append("")
    for op in plan.operations:
        if op.diff:
            out += [f"{md_code(op.target)} ({op.action}):", "", *md_fence(op.diff), ""]
    return out


def _unlisted_lines(plan: Plan) -> list[str]:
    out: list[str] = []
    for pruned, group in unlisted_groups(plan):
        out += [f"**{unlisted_heading(plan, pruned)}:**", ""]
        out += [f"- {md_code(unlisted_text(u))}" for u in group]
        out.append("")
    return out


def _diagnostic_lines(plan: Plan) -> list[str]:
    out = []
    for d in plan.diagnostics:
        icon = "⚠️" if d.level == "warning" else "❌"
        who = f"{md_code(d.model)}: " if d.model else ""
        out.append(f"- {icon} **{d.level}** {who}{md_code(d.message)}")
    return [*out, ""] if out else []


def _node_rows(plan: Plan) -> Iterator[str]:
    labels_cache: dict[int, str] = {}  # changes on one node share its labels mapping
    for c in plan.changes:
        labels = labels_cache.get(id(c.labels))
        if labels is None:
            labels = labels_cache[id(c.labels)] = md_code(labels_text(c.labels))
        action = "➕ add" if c.action == "add" else "➖ remove"
        reason = c.reason + (f" ({c.note})" if c.note else "")
        yield f"| {md_code(c.model)} | {md_code(c.node)} | {action} | {labels} | {md_code(reason)} |"


def _size(lines: list[str]) -> int:
    """Characters `lines` take in the output, each with its newline."""
    return sum(len(line) + 1 for line in lines)


def _take(rows: Iterable[str], budget: int) -> tuple[list[str], bool]:
    """The first of `rows` that fit in `budget` characters, and whether that is all of
    them; reads no further than the first row that does not fit."""
    kept: list[str] = []
    for row in rows:
        budget -= len(row) + 1
        if budget < 0:
            return kept, False
        kept.append(row)
    return kept, True


def _trim(rows: list[str], budget: int) -> list[str]:
    """`rows` without as many rows at the end as needed to fit in `budget` characters."""
    used = _size(rows)
    end = len(rows)
    while end and used > budget:
        end -= 1
        used -= len(rows[end]) + 1
    return rows[:end]


def _cut_line(left_out: int, total: int, what: str, max_chars: int, hint: str) -> str:
    where = escape_text(hint) if hint else "the JSON plan (`--format json`)"
    cut = f"{left_out:,} of {total:,} {what} left out to stay under {max_chars:,} characters"
    return f"_{cut}._ The full plan is in {where}."


def format_markdown(plan: Plan, *, max_chars: int = MAX_MARKDOWN_CHARS, full_plan_hint: str = "") -> str:
    title = f"Plan: {totals_text(plan)}" if plan.has_changes else "No changes"
    head = [f"### modelsched {title}", ""]
    head.append(f"Driver {md_code(plan.driver)}, cluster {md_code(cluster_text(plan))}, {md_code(plan.generator)}.")
    head.append("")
    if not plan.has_changes:
        listed = "listed models match" if plan.unlisted else "cluster matches"
        head += [f"The {listed} the configuration.", ""]
    models = _model_rows(plan)
    rest = _operation_lines(plan) + _unlisted_lines(plan) + _diagnostic_lines(plan)
    total = len(plan.changes)
    opening = [f"<details><summary>Per-node changes ({total:,} rows)</summary>", ""]
    closing = ["", "</details>", ""]

    def cut(left_out: int, of: int, what: str) -> list[str]:
        return ["", _cut_line(left_out, of, what, max_chars, full_plan_hint)]

    def assemble(model_rows: list[str], model_cut: list[str], node_rows: list[str], node_cut: list[str]) -> str:
        out = list(head)
        if models:
            out += [*_MODEL_HEAD, *model_rows, *model_cut, ""]
        out += rest
        if total:
            out += [*opening, *(_NODE_HEAD + node_rows if node_rows else []), *node_cut, *closing]
        return "\n".join(out)

    room = max_chars + 1  # _size counts a newline after every line; the output has one fewer
    frame = _size(head) + _size(rest) + (_size(_MODEL_HEAD) + 1 if models else 0)
    node_frame = _size(opening) + _size(_NODE_HEAD) + _size(closing) if total else 0
    if frame + _size(models) + node_frame <= room:  # every model row fits: fill with node rows
        budget = room - frame - _size(models) - node_frame
        nodes, complete = _take(_node_rows(plan), budget)
        if complete:
            return assemble(models, [], nodes, [])
        nodes = _trim(nodes, budget - _size(cut(total, total, "per-node rows")))
        return assemble(models, [], nodes, cut(total - len(nodes), total, "per-node rows"))
    # Not even the model table fits: cut it too, and show no node row.
    node_cut = cut(total, total, "per-node rows") if total else []
    budget = room - frame - node_frame - _size(node_cut) - _size(cut(len(models), len(models), "model rows"))
    kept = _trim(models, budget)
    return assemble(kept, cut(len(models) - len(kept), len(models), "model rows"), [], node_cut)
