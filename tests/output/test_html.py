"""The HTML plan as a file: self-contained, its parts present, its data compact and exact."""

from __future__ import annotations

import json
import re
from pathlib import Path

from modelsched.model.plan import Diagnostic, Operation, Plan, UnlistedModel
from modelsched.output import format_plan
from modelsched.output.htmldata import grid_data
from tests.cli.fakes import CLUSTER, CONFIG
from tests.clirun import Run
from tests.output.plans import change, churn_plan, example_plan, make_plan, model


def embedded(page: str) -> dict[str, object]:
    data = page.split('<script type="application/json" id="plan-data">')[1].split("</script>")[0]
    decoded: dict[str, object] = json.loads(data)
    return decoded


def test_the_page_is_self_contained_and_forbids_the_network() -> None:
    page = format_plan(example_plan(), "html")
    assert not re.search(r"""(src|href)\s*=|<link|@import|url\(|https?://""", page)
    assert "default-src 'none'" in page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_the_summary_is_on_top_with_the_counts_of_the_plan() -> None:
    page = format_plan(example_plan(), "html")
    assert '<h1 id="summary" data-add="4" data-remove="1" data-restart="0">Plan: 4 to add, 1 to remove.</h1>' in page
    assert page.index('id="summary"') < page.index('id="models"') < page.index('id="grid"')


def test_the_grid_data_holds_every_change_once_by_index() -> None:
    p = example_plan()
    data = grid_data(p)
    flat = data["changes"]
    rows = [flat[i : i + 4] for i in range(0, len(flat), 4)]
    decoded = {
        (data["models"][m][0], data["nodes"][n][0], {1: "add", 2: "remove"}[k], data["reasons"][r])
        for n, m, k, r in rows
    }
    assert decoded == {(c.model, c.node, c.action, c.reason) for c in p.changes}
    assert len(rows) == len(p.changes)
    groups = {g[0] for g in data["groups"]}
    assert groups == {"{tier=gpu, zone=b}", "{tier=cpu, zone=a}"}


def test_kept_is_current_minus_removes() -> None:
    models = {m[0]: m for m in grid_data(example_plan())["models"]}
    assert models["gpt-oss"][1:4] == [1, 2, 2]  # kept, current, target
    assert models["whisper"][1:4] == [1, 1, 1]


def test_the_churn_plans_data_is_small() -> None:
    p: Plan = churn_plan()
    page = format_plan(p, "html")
    assert len(page) < len(format_plan(p, "json")) / 5


def test_operations_with_restarts_and_diffs_unlisted_and_diagnostics_are_shown() -> None:
    op = Operation(model="m", target="modelsched-m", action="update", restarts=2, diff=["~ Count: 2 => 3"])
    p = make_plan(
        [change("m", "n1")],
        [model("m", current=2, target=3)],
        operations=[op, Operation(model="x", target="modelsched-x", action="register")],
        unlisted=[UnlistedModel(model="old", replicas=2, nodes=1)],
        diagnostics=[Diagnostic(level="warning", model="m", message="short of nodes")],
    )
    page = format_plan(p, "html")
    assert "<h1 " in page and "Plan: 1 to add, 0 to remove, 2 to restart.</h1>" in page
    assert (
        '<span class="sign">~</span> update <code>modelsched-m</code> <span class="restart">(2 replicas restart)'
        in page
    )
    assert "<pre>~ Count: 2 =&gt; 3</pre>" in page
    assert '<span class="sign">+</span> register <code>modelsched-x</code>' in page
    assert (
        "Not in the configuration, left alone (--prune would remove them)</h2><ul><li>old: 2 replicas on 1 node" in page
    )
    assert '<li class="warning"><strong>Warning</strong>: <code>m</code>: short of nodes</li>' in page


def test_no_changes_with_unlisted_models_says_the_listed_models_match() -> None:
    page = format_plan(make_plan([], [], unlisted=[UnlistedModel(model="old", replicas=1, nodes=1)]), "html")
    assert ">No changes. The listed models match the configuration.</h1>" in page
    assert embedded(page)["changes"] == []


def test_the_same_plan_gives_the_same_bytes() -> None:
    assert format_plan(churn_plan(nodes=300, models=16), "html") == format_plan(
        churn_plan(nodes=300, models=16), "html"
    )


def test_with_the_node_list_every_node_has_a_row_and_kept_is_data_of_model_columns_only() -> None:
    from modelsched.model.plan import PlanNode

    p = example_plan()
    listed = {m.model for m in p.models}
    changed = {c.node_id for c in p.changes}
    first = next(iter(listed))
    extra = [
        PlanNode("idle", "idle", {"tier": "x\x1b"}, {}),
        PlanNode("keeper", "keeper", {"tier": "cpu"}, {first: 2, "not-a-column": 5}),
    ]
    data = grid_data(p.model_copy(update={"nodes": extra}))
    assert data["full"] == 1
    names = [n[0] for n in data["nodes"]]
    assert names[:2] == ["idle", "keeper"] and len(names) == 2 + len(changed), "listed nodes first, then changed ones"
    models = [m[0] for m in data["models"]]
    assert data["kept"] == [1, models.index(first), 2], "a model without a column is left out"
    assert ["tier=x\\x1b"] in [g[1] for g in data["groups"]], "labels are escaped like the changes'"
    assert grid_data(p)["full"] == 0 and grid_data(p)["kept"] == []


def test_the_cli_records_kept_for_html_and_saved_plans_only(run: Run, tmp_path: Path) -> None:
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    (tmp_path / "sched.yaml").write_text(CONFIG)
    base = ("plan", "--config", "sched.yaml", "--state", "cluster.yaml")
    html = run(*base, "--format", "html")
    assert html.code in (0, 2), html.err
    assert embedded(html.out)["full"] == 1 and embedded(html.out)["kept"]
    plain = run(*base, "--format", "json")
    assert "nodes" not in json.loads(plain.out)
    saved = run(*base, "--out", "p.json", "--format", "json")
    assert saved.code in (0, 2), saved.err
    assert "nodes" in json.loads((tmp_path / "p.json").read_text())
    shown = run("show", "p.json", "--format", "html")
    assert embedded(shown.out)["kept"] == embedded(html.out)["kept"]
