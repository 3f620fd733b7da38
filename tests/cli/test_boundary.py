"""The one error boundary: exit codes, one escaped message, no traceback without --debug."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelsched.output.escape import escape_lines
from tests.cli.fakes import write_files
from tests.clirun import Run


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write_files(tmp_path)


@pytest.mark.parametrize(
    ("text", "shown"),
    [("a\x1b[2Jb", "a\\x1b[2Jb"), ("x\ry", "x\\ry"), ("rtl\u202eevil", "rtl\\u202eevil"),
     ("zero\u200bwidth", "zero\\u200bwidth"), ("c1\x9bcsi", "c1\\x9bcsi"),
     ("two\nlines\tand tab", "two\nlines\\tand tab"),
     ("llama3:8b ✓", "llama3:8b ✓")],
    ids=["an escape sequence", "a carriage return", "a bidi override", "a zero-width space", "a C1 control",
         "our newlines stay, a tab is shown", "ordinary text stays"],
)
def test_escape(text: str, shown: str) -> None:
    assert escape_lines(text) == shown


def test_data_in_an_error_message_cannot_drive_the_terminal(run: Run, files: tuple[Path, Path]) -> None:
    bad = json.dumps([{"model_name": "evil\x1b]0;pwned\x07", "replicas": 3}])
    r = run("plan", env={"MODELSCHED_SCHEDULING": bad})
    assert r.code == 1
    assert "\x1b" not in r.err and "\x07" not in r.err
    # The config reader refuses the name and shows it escaped (`\u001b`), never raw.
    assert "evil\\u001b]0;pwned\\u0007" in r.err


def test_plan_errors_are_shown_with_the_plan_then_reported_once(run: Run, files: tuple[Path, Path]) -> None:
    files[0].write_text(files[0].read_text().replace("cpu-2", "gpu-1"))
    r = run("plan", "--config", "sched.yaml")
    assert r.code == 1
    assert "node 'gpu-1' is defined twice" in r.out
    assert r.err == "Error: the plan has 1 error(s) (see above); fix them and plan again\n"


def test_apply_with_plan_errors_says_nothing_was_applied(run: Run, files: tuple[Path, Path]) -> None:
    files[0].write_text(files[0].read_text().replace("cpu-2", "gpu-1"))
    before = files[0].read_bytes()
    r = run("apply", "--config", "sched.yaml", "--auto-approve")
    assert r.code == 1
    assert r.err.endswith("fix them and plan again; nothing was applied\n")
    assert files[0].read_bytes() == before


def test_a_click_usage_error_shows_usage_and_exits_1(run: Run) -> None:
    r = run("plan", "--format", "yaml")
    assert r.code == 1
    assert r.err.startswith("Usage: modelsched plan [OPTIONS]")
    assert "Try 'modelsched plan -h' for help." in r.err
    assert "Error: Invalid value for '--format'" in r.err


def test_detailed_exitcode_2_passes_through_the_boundary(run: Run, files: tuple[Path, Path]) -> None:
    assert run("plan", "--config", "sched.yaml", "--detailed-exitcode").code == 2


def test_ctrl_c_while_planning_exits_1(run: Run, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from modelsched.workflow import flows

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(flows, "validate", interrupted)
    r = run("plan", "--config", "sched.yaml")
    assert r.code == 1 and r.err.strip() == "Aborted."


def test_an_internal_error_is_reported_as_one_without_a_traceback(
    run: Run, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelsched import workflow

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(workflow, "validate", broken)
    r = run("validate", "--config", "sched.yaml")
    assert r.code == 1 and "Error: internal error: RuntimeError: boom" in r.err and "Traceback" not in r.err
    assert "Traceback" in run("--debug", "validate", "--config", "sched.yaml").err
