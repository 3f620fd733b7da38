"""The text plan: Terraform-like blocks, colour rules, restarts and diffs, unlisted models."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from modelsched.model.plan import Operation, UnlistedModel
from modelsched.output import format_plan, format_text, use_colour
from modelsched.planner import plan
from tests.builders import desired, node, observed, spread
from tests.output.plans import change, example_plan, make_plan, model

GOLDEN = Path(__file__).parent / "golden"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "flag", "env", "expected"),
    [
        (Tty(), False, {}, True),
        (io.StringIO(), False, {}, False),
        (Tty(), True, {}, False),
        (Tty(), False, {"NO_COLOR": "1"}, False),
        (Tty(), False, {"NO_COLOR": ""}, True),
        (Tty(), False, {"TERM": "dumb"}, False),
        (Tty(), False, {"TERM": "xterm-256color"}, True),
    ],
    ids=[
        "a terminal gets colour",
        "a pipe gets none",
        "--no-color wins",
        "NO_COLOR wins",
        "NO_COLOR set empty is unset",
        "TERM=dumb gets none",
        "any other TERM gets colour",
    ],
)
def test_colour_rules(stream: io.StringIO, flag: bool, env: dict[str, str], expected: bool) -> None:
    assert use_colour(stream, flag, env) is expected


def test_colour_marks_additions_green_and_removals_red() -> None:
    p = plan(desired(spread("m", tier="gpu")), observed([node("a", tier="gpu"), node("b")], [("m", "b")]))
    text = format_text(p, colour=True)
    assert "\x1b[32m+ a" in text and "\x1b[31m- b" in text
    assert "\x1b[" not in format_text(p, colour=False)


def test_a_plain_plan_is_byte_identical_to_the_golden_text() -> None:
    assert format_plan(example_plan(), "text") == (GOLDEN / "example.txt").read_text()


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown plan format 'yaml'"):
        format_plan(example_plan(), "yaml")


def _nomad_plan(*ops: Operation) -> str:
    return format_text(make_plan([change("m", "n1")], [model("m", current=0, target=1)], operations=list(ops)))


@pytest.mark.parametrize(
    ("ops", "summary"),
    [
        (
            (Operation(model="m", target="job-m", action="update", restarts=3),),
            "Plan: 1 to add, 0 to remove, 3 to restart.",
        ),
        ((Operation(model="m", target="job-m", action="update"),), "Plan: 1 to add, 0 to remove."),
    ],
    ids=["restarts are counted in the summary line", "no restarts leaves the summary line as it was"],
)
def test_summary_line_names_restarts_only_when_there_are_some(ops: tuple[Operation, ...], summary: str) -> None:
    assert _nomad_plan(*ops).rstrip().endswith(summary)


def test_an_updated_job_shows_its_restarts_and_its_diff_lines_under_it() -> None:
    op = Operation(
        model="m",
        target="modelsched-m",
        action="update",
        detail="image changed",
        restarts=2,
        diff=['~ Task "localai" Config.image: "a" => "b"', "~ Count: 2 => 3"],
    )
    lines = _nomad_plan(op).splitlines()
    at = lines.index("  ~ update modelsched-m: image changed (2 replicas restart)")
    assert lines[at + 1 : at + 3] == ['      ~ Task "localai" Config.image: "a" => "b"', "      ~ Count: 2 => 3"]


def test_one_restart_is_singular() -> None:
    text = _nomad_plan(Operation(model="m", target="j", action="replace", restarts=1))
    assert "~ replace j (1 replica restarts)" in text


@pytest.mark.parametrize(
    ("action", "sign"),
    [("register", "+"), ("create", "+"), ("update", "~"), ("evaluate", "~")],
    ids=[
        "a new Nomad job is a creation",
        "a new LocalAI row is a creation",
        "an update is a change",
        "an evaluate is a change",
    ],
)
def test_operations_are_marked_like_terraform(action: str, sign: str) -> None:
    text = _nomad_plan(Operation(model="m", target="modelsched-m", action=action))  # type: ignore[arg-type]
    assert f"\n  {sign} {action} modelsched-m\n" in text


def test_a_register_is_green_on_a_terminal() -> None:
    p = make_plan([], [], operations=[Operation(model="m", target="j", action="register")])
    assert "\x1b[32m  + register j" in format_text(p, colour=True)


LEGACY = UnlistedModel(model="legacy-llm", replicas=2, nodes=2)


def test_no_changes_with_unlisted_models_says_the_listed_models_match_then_lists_them() -> None:
    text = format_text(make_plan([], [model("m", current=1, target=1)], unlisted=[LEGACY]))
    assert "The cluster matches the configuration" not in text
    assert text.endswith(
        "Not in the configuration, left alone (--prune would remove them):\n"
        "  legacy-llm: 2 replicas on 2 nodes\n"
        "\n"
        "No changes. The listed models match the configuration.\n"
    )


def test_no_changes_and_nothing_unlisted_keeps_the_old_sentence() -> None:
    assert format_text(make_plan()) == "No changes. The cluster matches the configuration.\n"


def test_pruned_unlisted_models_are_marked_as_removed() -> None:
    pruned = UnlistedModel(model="legacy-llm", replicas=1, nodes=1, pruned=True)
    p = make_plan([change("legacy-llm", "gpu-2", "remove", "pruned")], [], unlisted=[pruned], prune=True)
    text = format_text(p)
    assert "  # legacy-llm (not listed: pruned)\n  - gpu-2  {}  pruned\n" in text
    assert (
        "Not in the configuration, pruned (--prune): their replicas are removed:\n  - legacy-llm: 1 replica on 1 node\n"
        in text
    )
    assert "--prune would remove" not in text


def test_with_prune_an_unlisted_model_left_alone_does_not_promise_prune_removes_it() -> None:
    text = format_text(make_plan([], [], unlisted=[LEGACY], prune=True))
    assert "Not in the configuration, left alone:\n  legacy-llm: 2 replicas on 2 nodes\n" in text


def test_node_names_are_padded_to_their_escaped_width() -> None:
    text = format_text(make_plan([change("m", "a\nb", tier="x"), change("m", "abcdefg", tier="x")], [model("m")]))
    assert "  + a\\nb     {tier=x}  spread\n" in text
    assert "  + abcdefg  {tier=x}  spread\n" in text
