"""Option values: durations, timeouts, Markdown size, formats, colour, and where files go."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from modelsched import output, workflow
from modelsched.cli.driver_options import parse_duration
from modelsched.workflow import request
from tests.cli.fakes import write_files
from tests.clirun import Run


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write_files(tmp_path)


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "-inf", "soon"], ids=["NaN", "infinity", "negative",
                                                                             "minus infinity", "not a number"])
def test_timeout_refuses_values_that_are_not_seconds(run: Run, files: tuple[Path, Path], value: str) -> None:
    r = run("apply", "--config", "sched.yaml", "--driver", "nomad", "--auto-approve", "--timeout", value)
    assert r.code == 1
    assert "--timeout" in r.err and "Traceback" not in r.err


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 30.0), ("2.5", 2.5), ("30s", 30.0), ("2m", 120.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0),
     ("0", 0.0)],
    ids=["bare seconds", "fractional seconds", "seconds", "minutes", "minutes and seconds", "milliseconds",
         "an hour", "zero: do not wait"],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1x", "s", "-5s", "nan", "inf", "1m 30s", "5s5"],
                         ids=["empty", "unknown unit", "no number", "negative", "NaN", "infinity",
                              "a space inside", "trailing digits"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_lock_timeout_reaches_the_local_driver(
    run: Run, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []

    class Spy(request.LocalDriver):  # type: ignore[misc,unused-ignore]
        def __init__(self, state: Any, **kwargs: Any) -> None:
            seen.append(kwargs)
            super().__init__(state)

    monkeypatch.setattr(request, "LocalDriver", Spy)
    assert run("apply", "--config", "sched.yaml", "--auto-approve", "--lock-timeout", "1m30s").code == 0
    assert run("apply", "--config", "sched.yaml", "--auto-approve").code == 0
    assert seen == [{"lock_timeout": 90.0}, {}]


def test_a_bad_lock_timeout_is_a_usage_error(run: Run, files: tuple[Path, Path]) -> None:
    r = run("apply", "--config", "sched.yaml", "--auto-approve", "--lock-timeout", "forever")
    assert r.code == 1 and "--lock-timeout" in r.err and "is not a duration" in r.err


@pytest.mark.parametrize("command", ["plan", "show"], ids=["plan", "show"])
def test_max_chars_reaches_the_markdown_format(
    run: Run, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    real = output.format_plan

    def spy(plan: workflow.Plan, fmt: str, colour: bool = False, **kwargs: Any) -> str:
        seen.append((fmt, kwargs))
        return real(plan, fmt, colour, **kwargs)

    run("plan", "--config", "sched.yaml", "--out", "p.json")
    monkeypatch.setattr(output, "format_plan", spy)
    args = ("show", "p.json") if command == "show" else ("plan", "--config", "sched.yaml")
    assert run(*args, "--format", "markdown", "--max-chars", "2000").code == 0
    fmt, kwargs = seen[-1]
    assert fmt == "markdown" and kwargs["max_chars"] == 2000
    if command == "show":
        assert kwargs["full_plan_hint"] == "the plan file p.json"


@pytest.mark.parametrize("fmt", ["text", "json", "html"])
def test_max_chars_with_another_format_is_a_usage_error(run: Run, files: tuple[Path, Path], fmt: str) -> None:
    r = run("plan", "--config", "sched.yaml", "--format", fmt, "--max-chars", "2000")
    assert r.code == 1 and f"--max-chars applies to --format markdown only (the format is {fmt})" in r.err


def test_html_is_an_accepted_format(run: Run, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = output.format_plan

    def spy(plan: workflow.Plan, fmt: str, colour: bool = False, **kwargs: Any) -> str:
        seen.append(fmt)
        return real(plan, fmt, colour, **kwargs)

    monkeypatch.setattr(output, "format_plan", spy)
    assert run("plan", "--config", "sched.yaml", "--format", "html").code == 0
    assert seen == ["html"]


def test_the_colour_decision_sees_the_environment(
    run: Run, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str | None] = []

    def spy(stream: Any, flag: bool, env: Any = None) -> bool:
        seen.append(None if env is None else env.get("TERM"))
        return False

    monkeypatch.setattr(output, "use_colour", spy)
    assert run("plan", "--config", "sched.yaml", env={"TERM": "dumb"}).code == 0
    assert seen == ["dumb"]


@pytest.mark.parametrize(
    ("out", "what"),
    [("cluster.yaml", "the cluster state file"), ("sched.yaml", "the scheduling config"),
     ("state-link.yaml", "the cluster state file"), ("config-link.yaml", "the scheduling config"),
     ("hard-link.yaml", "the cluster state file")],
    ids=["the state file", "the config", "a symlink to the state file", "a symlink to the config",
         "a hard link to the state file"],
)
def test_plan_out_refuses_an_input_or_a_link_to_one(
    run: Run, files: tuple[Path, Path], out: str, what: str
) -> None:
    Path("state-link.yaml").symlink_to(files[0])
    Path("config-link.yaml").symlink_to(files[1])
    os.link(files[0], "hard-link.yaml")
    before = (files[0].read_bytes(), files[1].read_bytes())
    r = run("plan", "--config", "sched.yaml", "--out", out)
    assert r.code == 1
    assert f"--out {out} is {what}" in r.err
    assert (files[0].read_bytes(), files[1].read_bytes()) == before


def test_plan_out_refuses_the_state_file_named_by_the_environment(run: Run, files: tuple[Path, Path]) -> None:
    files[0].rename("elsewhere.yaml")
    r = run("plan", "--config", "sched.yaml", "--out", "elsewhere.yaml", env={"MODELSCHED_STATE": "elsewhere.yaml"})
    assert r.code == 1 and "is the cluster state file" in r.err


def test_plan_out_refuses_a_config_named_by_the_environment(run: Run, files: tuple[Path, Path]) -> None:
    r = run("plan", "--out", "sched.yaml", env={"MODELSCHED_SCHEDULING_CONFIG": "sched.yaml"})
    assert r.code == 1 and "is the scheduling config" in r.err


def test_plan_out_replaces_an_older_plan_but_not_another_file(run: Run, files: tuple[Path, Path]) -> None:
    assert run("plan", "--config", "sched.yaml", "--out", "p.json").code == 0
    assert run("plan", "--config", "sched.yaml", "--out", "p.json").code == 0
    Path("notes.txt").write_text("mine\n")
    r = run("plan", "--config", "sched.yaml", "--out", "notes.txt")
    assert r.code == 1 and "exists and is not a file modelsched wrote" in r.err
    assert Path("notes.txt").read_text() == "mine\n"
    Path("empty.json").write_text("")
    assert run("plan", "--config", "sched.yaml", "--out", "empty.json").code == 0
