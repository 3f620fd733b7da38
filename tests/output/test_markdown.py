"""The Markdown plan fits a pull-request comment: the per-model table first, per-node
rows in a collapsed section, cut to `max_chars` with a line saying what was left out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelsched.model.plan import Diagnostic, Operation, Plan, UnlistedModel
from modelsched.output import MAX_MARKDOWN_CHARS, format_markdown, format_plan
from tests.output.plans import change, churn_plan, example_plan, make_plan, model

GOLDEN = Path(__file__).parent / "golden"


def test_the_example_plan_matches_the_golden_markdown() -> None:
    assert format_plan(example_plan(), "markdown") == (GOLDEN / "example.md").read_text()


def test_the_per_model_table_comes_before_the_per_node_rows_which_are_collapsed() -> None:
    md = format_markdown(example_plan())
    table = md.index("| Model | Mode | Selector | Current -> Target | Adds | Removes | Restarts |")
    details = md.index("<details><summary>Per-node changes (5 rows)</summary>")
    assert table < details < md.index("| Model | Node | Change | Labels | Reason |") < md.index("</details>")
    assert "| `gpt-oss` | spread | `{tier=gpu}` | 2 -> 2 | 1 | 1 | 0 |" in md
    assert "| `whisper` | bounded | `{tier=cpu}` | 1 -> 1 | 0 | 0 | 0 |" in md, "unchanged models are listed too"
    assert "| `gpt-oss` | `gpu-3` | ➖ remove | `{tier=gpu, zone=b}` | `node_unhealthy` |" in md
    assert "left out" not in md


def test_the_churn_plan_fits_a_pr_comment_with_the_full_model_table(churn: Plan) -> None:
    md = format_markdown(churn, full_plan_hint="the plan-json artifact")
    assert len(md) <= MAX_MARKDOWN_CHARS == 60_000
    for m in churn.models:
        assert f"| `{m.model}` | {m.mode} |" in md
    rows = len(re.findall(r"^\| `model-\d+` \| `node-", md, flags=re.M))
    assert 0 < rows < len(churn.changes)
    total = len(churn.changes)
    cut = f"_{total - rows:,} of {total:,} per-node rows left out to stay under 60,000 characters._"
    assert f"{cut} The full plan is in the plan-json artifact." in md
    assert md.index(cut) < md.index("</details>")


@pytest.mark.parametrize("max_chars", [3_000, 10_000, 60_000], ids=["tight", "medium", "the default"])
def test_max_chars_is_a_bound_and_is_filled(max_chars: int) -> None:
    p = churn_plan(nodes=2000, models=32)
    md = format_markdown(p, max_chars=max_chars)
    assert len(md) <= max_chars
    assert len(md) > max_chars - 600, "rows stop only when the next one would not fit"


def test_without_a_hint_the_cut_line_points_to_the_json_plan() -> None:
    md = format_markdown(churn_plan(nodes=400, models=16), max_chars=3_000)
    assert "The full plan is in the JSON plan (`--format json`)." in md


def test_when_even_the_model_table_does_not_fit_its_rows_are_cut_too_and_no_node_row_is_shown() -> None:
    p = churn_plan(nodes=100, models=200)
    md = format_markdown(p, max_chars=4_000)
    assert len(md) <= 4_000
    assert "model rows left out" in md
    assert "| Model | Node |" not in md and "per-node rows left out" in md


def test_restarts_are_counted_per_model_and_diffs_shown_in_a_fenced_block() -> None:
    op = Operation(model="m", target="modelsched-m", action="update", restarts=2, diff=['~ Config.image: "a" => "b"'])
    p = make_plan([change("m", "n1")], [model("m", current=2, target=3)], operations=[op])
    md = format_markdown(p)
    assert md.startswith("### modelsched Plan: 1 to add, 0 to remove, 2 to restart\n")
    assert "| `m` | spread | `{}` | 2 -> 3 | 1 | 0 | 2 |" in md
    assert "| `m` | `modelsched-m` | ~ update | 2 |  |" in md
    assert '`modelsched-m` (update):\n\n```\n~ Config.image: "a" => "b"\n```\n' in md


def test_a_new_job_is_marked_plus_register() -> None:
    p = make_plan([], [], operations=[Operation(model="m", target="modelsched-m", action="register")])
    assert "| `m` | `modelsched-m` | + register | 0 |  |" in format_markdown(p)


def test_unlisted_models_are_listed_as_left_alone_or_pruned() -> None:
    left = format_markdown(make_plan([], [], unlisted=[UnlistedModel(model="old", replicas=3, nodes=2)]))
    assert (
        "**Not in the configuration, left alone (--prune would remove them):**\n\n- `old: 3 replicas on 2 nodes`"
        in left
    )
    pruned = UnlistedModel(model="old", replicas=1, nodes=1, pruned=True)
    p = make_plan([change("old", "n1", "remove", "pruned")], [], unlisted=[pruned], prune=True)
    md = format_markdown(p)
    assert "**Not in the configuration, pruned (--prune): their replicas are removed:**" in md
    assert "| `old` | not listed (pruned) | - | 1 -> 0 | 0 | 1 | 0 |" in md


def test_diagnostics_are_listed_with_their_level() -> None:
    p = make_plan([], [], diagnostics=[Diagnostic(level="warning", model="w", message="min 5 exceeds 2 nodes")])
    assert "- ⚠️ **warning** `w`: `min 5 exceeds 2 nodes`" in format_markdown(p)


@pytest.mark.parametrize(
    ("unlisted", "sentence"),
    [
        ([], "The cluster matches the configuration."),
        ([UnlistedModel(model="old", replicas=1, nodes=1)], "The listed models match the configuration."),
    ],
    ids=["nothing unlisted", "an unlisted model"],
)
def test_no_changes_says_what_matches(unlisted: list[UnlistedModel], sentence: str) -> None:
    md = format_markdown(make_plan([], [model("m", current=1, target=1)], unlisted=unlisted))
    assert md.startswith("### modelsched No changes\n\n")
    assert f"\n{sentence}\n" in md
    assert "<details>" not in md


def test_a_plan_that_fits_exactly_is_not_cut_and_one_character_less_is() -> None:
    p = churn_plan(nodes=200, models=16)
    full = format_markdown(p, max_chars=10**9)
    assert "left out" not in full
    assert format_markdown(p, max_chars=len(full)) == full
    cut = format_markdown(p, max_chars=len(full) - 1)
    assert len(cut) <= len(full) - 1 and "per-node rows left out" in cut
    assert "model rows left out" not in cut
