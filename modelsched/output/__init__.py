"""Plan renderers: Terraform-like text, JSON (the contract), Markdown for PR comments.

Pure string builders: the caller decides where to write. Colour is a parameter;
`use_colour()` applies the rules (TTY only, never with NO_COLOR or --no-color).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO

import click

from modelsched.model.plan import Change, ModelPlan, Plan, dump_plan


def use_colour(stream: IO[str], no_colour_flag: bool, env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    # no-color.org: NO_COLOR set to a non-empty value disables colour.
    if no_colour_flag or env.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _paint(text: str, colour: str | None, on: bool, bold: bool = False) -> str:
    return click.style(text, fg=colour, bold=bold or None) if on else text


def labels_text(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"


def _bounds(m: ModelPlan) -> str:
    return f"{m.current} -> {m.target}"


def _cluster_text(plan: Plan) -> str:
    # An empty value means the backend's default (e.g. Nomad's namespace and region).
    return ", ".join(f"{k} {v or '(default)'}" for k, v in sorted(plan.cluster.items()))


def format_text(plan: Plan, colour: bool = False) -> str:
    out: list[str] = []
    models = {m.model: m for m in plan.models}
    by_model: dict[str, list[Change]] = {}
    for c in plan.changes:
        by_model.setdefault(c.model, []).append(c)
    if by_model:
        out.append(f"modelsched will change these replicas ({plan.driver}: {_cluster_text(plan)}):")
        out.append("")
    for model, changes in by_model.items():
        m = models.get(model)
        if m is not None:
            head = (
                f"# {model} ({m.mode}, selector {labels_text(m.selector)}): "
                f"{_bounds(m)} replicas, {m.matching_nodes} matching node(s)"
            )
        else:
            head = f"# {model} (not listed: pruned)"
        out.append("  " + _paint(head, None, colour, bold=True))
        width = max(len(c.node) for c in changes)
        for c in changes:
            sign, tint = ("+", "green") if c.action == "add" else ("-", "red")
            line = f"{sign} {c.node.ljust(width)}  {labels_text(c.labels)}  {c.reason}"
            if c.note:
                line += f" ({c.note})"
            out.append("  " + _paint(line, tint, colour))
        out.append("")
    if plan.operations:
        out.append(f"{plan.driver} operations:")
        for op in plan.operations:
            detail = f": {op.detail}" if op.detail else ""
            out.append(f"  ~ {op.action} {op.target}{detail}")
        out.append("")
    for d in plan.diagnostics:
        tint = "yellow" if d.level == "warning" else "red"
        who = f"{d.model}: " if d.model else ""
        out.append(_paint(f"{d.level.capitalize()}: {who}{d.message}", tint, colour))
    if plan.diagnostics:
        out.append("")
    if plan.has_changes:
        s = plan.summary
        out.append(_paint(f"Plan: {s.add} to add, {s.remove} to remove.", None, colour, bold=True))
    else:
        out.append(_paint("No changes.", "green", colour, bold=True) + " The cluster matches the configuration.")
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def format_markdown(plan: Plan) -> str:
    s = plan.summary
    title = f"Plan: {s.add} to add, {s.remove} to remove" if plan.has_changes else "No changes"
    out = [f"### modelsched {title}", ""]
    out.append(f"Driver `{plan.driver}`, cluster `{_md(_cluster_text(plan))}`, {plan.generator}.")
    out.append("")
    if plan.changes:
        out += ["| Model | Node | Change | Labels | Reason |", "|---|---|---|---|---|"]
        for c in plan.changes:
            action = "➕ add" if c.action == "add" else "➖ remove"
            reason = c.reason + (f" ({c.note})" if c.note else "")
            out.append(
                f"| `{_md(c.model)}` | `{_md(c.node)}` | {action} | {_md(labels_text(c.labels))} | {_md(reason)} |"
            )
        out.append("")
    if plan.operations:
        out += ["| Model | Target | Operation | Detail |", "|---|---|---|---|"]
        for op in plan.operations:
            out.append(f"| `{_md(op.model or '-')}` | `{_md(op.target)}` | {_md(op.action)} | {_md(op.detail)} |")
        out.append("")
    for d in plan.diagnostics:
        icon = "⚠️" if d.level == "warning" else "❌"
        who = f"`{_md(d.model)}`: " if d.model else ""
        out.append(f"- {icon} **{d.level}** {who}{_md(d.message)}")
    if plan.diagnostics:
        out.append("")
    if plan.models:
        out += ["<details><summary>Models</summary>", ""]
        out += ["| Model | Mode | Selector | Matching nodes | Current | Target |", "|---|---|---|---:|---:|---:|"]
        for m in plan.models:
            out.append(
                f"| `{_md(m.model)}` | {m.mode} | {_md(labels_text(m.selector))} | "
                f"{m.matching_nodes} | {m.current} | {m.target} |"
            )
        out += ["", "</details>", ""]
    return "\n".join(out)


MAX_MARKDOWN_CHARS = 60_000  # a pull-request comment holds 65,536


def format_plan(
    plan: Plan, fmt: str, colour: bool = False, *, max_chars: int = MAX_MARKDOWN_CHARS, full_plan_hint: str = ""
) -> str:
    """The plan in one format: text, json, markdown or html. `max_chars` bounds the
    Markdown (the per-node rows are cut to fit); `full_plan_hint` says where the full
    plan is (e.g. "the JSON plan artifact") in the line that reports the cut."""
    del max_chars, full_plan_hint  # used by the Markdown format
    if fmt == "json":
        return dump_plan(plan)
    if fmt == "markdown":
        return format_markdown(plan)
    return format_text(plan, colour)
