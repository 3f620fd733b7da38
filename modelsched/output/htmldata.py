"""The compact data the HTML plan's script draws its node x model grid from.

Interned tables instead of the plan's JSON (a 5,000-node churn plan is ~5.7 MB as
JSON and ~0.3 MB here): models, label groups, nodes and reasons by index, and the
changes as one flat int array `[node, model, kind, reason, ...]` (kind 1 = add,
2 = remove). When the plan lists its nodes (`Plan.nodes`: HTML and saved plans),
every node gets a row and `kept` holds `[node, model, replicas kept, ...]` for the
models with a column (`full` = 1); otherwise only changed nodes have rows.
Every string is terminal-escaped here and HTML-escaped by the script;
the whole is embedded with `script_json`. Linear in the changes. Must not render.
"""

from __future__ import annotations

from typing import Any

from modelsched.model.plan import Plan
from modelsched.output.escape import escape_text
from modelsched.output.wording import labels_text, tally_models

ADD, REMOVE = 1, 2


def grid_data(plan: Plan) -> dict[str, Any]:
    tallies = tally_models(plan)
    listed = [m.model for m in plan.models]
    listed_set = set(listed)
    pruned = sorted(m for m in tallies if m not in listed_set and (tallies[m].adds or tallies[m].removes))
    names = listed + pruned
    model_index = {name: i for i, name in enumerate(names)}
    unlisted = {u.model: u.replicas for u in plan.unlisted}

    models = []
    for m in plan.models:
        t = tallies.get(m.model)
        removes = t.removes if t else 0
        models.append([escape_text(m.model), m.current - removes, m.current, m.target, 0])
    for name in pruned:
        t = tallies[name]
        current = unlisted.get(name, t.removes)
        models.append([escape_text(name), current - t.removes, current, current + t.adds - t.removes, 1])

    groups: list[list[Any]] = []
    group_index: dict[str, int] = {}
    nodes: list[list[Any]] = []
    node_index: dict[str, int] = {}
    reasons: list[str] = []
    reason_index: dict[str, int] = {}
    changes: list[int] = []
    kept: list[int] = []

    def node_row(node_id: str, name: str, labels: dict[str, str]) -> int:
        key = labels_text(labels)
        g = group_index.get(key)
        if g is None:
            g = group_index[key] = len(groups)
            groups.append([key, [escape_text(f"{k}={v}") for k, v in sorted(labels.items())]])
        n = node_index[node_id] = len(nodes)
        nodes.append([escape_text(name), g, "" if node_id == name else escape_text(node_id)])
        return n

    for node in plan.nodes or ():
        if node.id in node_index:
            continue
        row = node_row(node.id, node.name, node.labels)
        for model, count in node.kept.items():
            column = model_index.get(model)
            if column is not None and count:
                kept += (row, column, count)
    for c in plan.changes:
        n = node_index.get(c.node_id)
        if n is None:
            n = node_row(c.node_id, c.node, c.labels)
        reason = c.reason + (f" ({c.note})" if c.note else "")
        r = reason_index.get(reason)
        if r is None:
            r = reason_index[reason] = len(reasons)
            reasons.append(escape_text(reason))
        changes += (n, model_index[c.model], ADD if c.action == "add" else REMOVE, r)
    return {
        "models": models,  # [name, kept, current, target, pruned]
        "groups": groups,  # [labels text, ["k=v", ...]]
        "nodes": nodes,  # [name, group, node id when it differs from the name]
        "reasons": reasons,
        "changes": changes,
        "kept": kept,  # [node, model, replicas kept, ...]
        "full": 1 if plan.nodes is not None else 0,  # every node has a row
    }
