"""The HTML plan: one self-contained page (inline CSS, script and data; no network)
with the plan summary on top and a node x model grid below it.

This module renders the static parts (summary, diagnostics, unlisted models,
operations with their diffs, the per-model totals table), each value HTML-escaped
after terminal escaping, and embeds the grid's data (`htmldata.grid_data`) for
`assets/plan.js`, which draws only the visible part of the grid. Must not print.
"""

from __future__ import annotations

import re
from functools import cache
from html import escape
from importlib.resources import files

from modelsched.model.plan import Plan
from modelsched.output.escape import escape_text, script_json
from modelsched.output.htmldata import grid_data
from modelsched.output.wording import (
    ModelTally,
    cluster_text,
    labels_text,
    operation_sign,
    restarts_text,
    tally_models,
    totals_text,
    unlisted_groups,
    unlisted_heading,
    unlisted_text,
)


@cache
def _asset(name: str) -> str:
    return files("modelsched.output").joinpath("assets", name).read_text(encoding="utf-8")


def _h(text: str) -> str:
    """Data as HTML text or attribute value: control characters shown as escapes, then HTML-escaped."""
    return escape(escape_text(text), quote=True)


def _summary(plan: Plan) -> str:
    s = plan.summary
    if plan.has_changes:
        line = f"Plan: {totals_text(plan)}."
    elif plan.unlisted:
        line = "No changes. The listed models match the configuration."
    else:
        line = "No changes. The cluster matches the configuration."
    return (
        f'<h1 id="summary" data-add="{s.add}" data-remove="{s.remove}" data-restart="{s.restart}">{line}</h1>\n'
        f'<p class="meta">Driver <code>{_h(plan.driver)}</code>, cluster <code>{escape(cluster_text(plan))}</code>, '
        f"{_h(plan.generator)}{', with --prune' if plan.prune else ''}"
        f"{', targets ' + ', '.join(f'<code>{_h(t)}</code>' for t in plan.targets) if plan.targets else ''}.</p>"
    )


def _diagnostics(plan: Plan) -> str:
    if not plan.diagnostics:
        return ""
    items = []
    for d in plan.diagnostics:
        who = f"<code>{_h(d.model)}</code>: " if d.model else ""
        items.append(f'<li class="{d.level}"><strong>{d.level.capitalize()}</strong>: {who}{_h(d.message)}</li>')
    return '<ul id="diagnostics">' + "".join(items) + "</ul>"


def _unlisted(plan: Plan) -> str:
    out = []
    for pruned, group in unlisted_groups(plan):
        cls = "pruned" if pruned else "unlisted"
        items = "".join(f"<li>{escape(unlisted_text(u))}</li>" for u in group)
        heading = escape(unlisted_heading(plan, pruned))
        out.append(f'<section class="{cls}"><h2>{heading}</h2><ul>{items}</ul></section>')
    return "".join(out)


def _operations(plan: Plan) -> str:
    if not plan.operations:
        return ""
    items = []
    for op in plan.operations:
        sign = operation_sign(op.action)
        detail = f": {_h(op.detail)}" if op.detail else ""
        restarts = f' <span class="restart">({restarts_text(op.restarts)})</span>' if op.restarts else ""
        line = f'<span class="sign">{sign}</span> {op.action} <code>{_h(op.target)}</code>{detail}{restarts}'
        if op.diff:
            diff = "\n".join(_h(d) for d in op.diff)
            items.append(f"<li><details><summary>{line}</summary><pre>{diff}</pre></details></li>")
        else:
            items.append(f"<li>{line}</li>")
    return f'<section id="operations"><h2>{_h(plan.driver)} operations</h2><ul>{"".join(items)}</ul></section>'


def _model_table(plan: Plan, names: list[str]) -> str:
    tallies = tally_models(plan)
    none = ModelTally()
    rows = []
    modes: dict[str, tuple[str, str, int, int]] = {
        m.model: (m.mode, labels_text(m.selector), m.current, m.target) for m in plan.models
    }
    replicas = {u.model: u.replicas for u in plan.unlisted}
    for i, name in enumerate(names):
        t = tallies.get(name, none)
        if name in modes:
            mode, selector, current, target = modes[name]
        else:
            current = replicas.get(name, t.removes)
            mode, selector, target = "not listed (pruned)", "-", current + t.adds - t.removes
        rows.append(
            f'<tr data-model="{i}"><th scope="row"><button type="button" class="pick">{_h(name)}</button></th>'
            f"<td>{mode}</td><td><code>{escape(selector)}</code></td><td>{current} &rarr; {target}</td>"
            f'<td class="num">{current - t.removes}</td><td class="num add">{t.adds}</td>'
            f'<td class="num remove">{t.removes}</td><td class="num">{t.restarts}</td></tr>'
        )
    return "\n".join(rows)


_SLOT = re.compile(r"<!--(TITLE|CSS|SUMMARY|DETAILS|MODEL_ROWS|JS|DATA)-->")


def format_html(plan: Plan) -> str:
    data = grid_data(plan)
    names = [m.model for m in plan.models]
    listed = set(names)
    names += sorted({c.model for c in plan.changes} - listed)
    parts = {
        "TITLE": escape(f"modelsched plan: {totals_text(plan)}" if plan.has_changes else "modelsched plan: no changes"),
        "CSS": _asset("plan.css"),
        "SUMMARY": _summary(plan),
        "DETAILS": _operations(plan) + _unlisted(plan) + _diagnostics(plan),
        "MODEL_ROWS": _model_table(plan, names),
        "JS": _asset("plan.js"),
        "DATA": script_json(data),
    }
    # One pass over the template: text inserted for one slot is never read as another slot.
    return _SLOT.sub(lambda m: parts[m.group(1)], _asset("plan.html"))
