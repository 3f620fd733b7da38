"""The live apply monitor: a line every 10 s off a terminal, one redrawn block on one."""

from __future__ import annotations

import io

import pytest

from modelsched.cli.monitor import Monitor, block_lines, live_terminal, still_waiting_line
from tests.cli.fakes import status


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


WHISPER_WAITING = ("whisper", 1, 2, 1, 0, "")
LLM_DONE = ("llm", 3, 3, 0, 0, "")


def test_the_line_names_each_waiting_model_with_its_counts() -> None:
    line = still_waiting_line(status(20.7, WHISPER_WAITING, LLM_DONE, ("asr", 0, 2, 1, 1, "")))
    assert line == "Still waiting: asr 0/2 running, 1 pending, 1 failed; whisper 1/2 running, 1 pending [20s elapsed]"


def test_nothing_waiting_gives_no_line() -> None:
    assert still_waiting_line(status(30.0, LLM_DONE)) is None


def test_a_model_with_all_wanted_running_but_replacements_pending_still_waits() -> None:
    assert still_waiting_line(status(10.0, ("llm", 2, 2, 1, 0, ""))) == (
        "Still waiting: llm 2/2 running, 1 pending [10s elapsed]"
    )


def test_many_waiting_models_are_cut_after_five() -> None:
    models = [(f"m{i}", 0, 1, 1, 0, "") for i in range(8)]
    line = still_waiting_line(status(10.0, *models))
    assert line is not None and line.count("running") == 5 and "; and 3 more model(s) [10s elapsed]" in line


def test_off_a_terminal_one_line_every_ten_seconds_of_the_wait() -> None:
    out = io.StringIO()
    monitor = Monitor(out, live=False)
    for elapsed in (0.2, 3.0, 9.9, 10.0, 12.0, 19.0, 35.5, 36.0, 40.1):
        monitor.waiting(status(elapsed, WHISPER_WAITING))
    assert [line.split("[")[1] for line in out.getvalue().splitlines()] == [
        "10s elapsed]", "35s elapsed]", "40s elapsed]"
    ]


def test_event_lines_pass_through_escaped() -> None:
    out = io.StringIO()
    Monitor(out, live=False)("nomad: registered job \x1b[31mx")
    assert out.getvalue() == "nomad: registered job \\x1b[31mx\n"


def test_on_a_terminal_the_block_is_redrawn_in_place() -> None:
    out = Tty()
    monitor = Monitor(out, live=True)
    monitor.waiting(status(1.0, WHISPER_WAITING, LLM_DONE))
    first = out.getvalue()
    assert first == (
        "Waiting for 1 of 2 model(s) [1s elapsed]\n"
        "  llm      3/3 running  done\n"
        "  whisper  1/2 running, 1 pending\n"
    )
    monitor.waiting(status(2.0, ("whisper", 2, 2, 0, 0, ""), LLM_DONE))
    second = out.getvalue()[len(first):]
    assert second.startswith("\x1b[3F\x1b[J")  # back to the block's first line, clear below
    assert "Waiting for 0 of 2 model(s) [2s elapsed]" in second


def test_an_event_line_goes_above_the_block_which_stays_at_the_bottom() -> None:
    out = Tty()
    monitor = Monitor(out, live=True)
    monitor.waiting(status(1.0, WHISPER_WAITING))
    mark = len(out.getvalue())
    monitor("nomad: llm: allocations match the plan")
    assert out.getvalue()[mark:] == (
        "\x1b[2F\x1b[J"
        "nomad: llm: allocations match the plan\n"
        "Waiting for 1 of 1 model(s) [1s elapsed]\n"
        "  whisper  1/2 running, 1 pending\n"
    )
    mark = len(out.getvalue())
    monitor.waiting(status(2.0, WHISPER_WAITING))
    assert out.getvalue()[mark:].startswith("\x1b[2F\x1b[J")  # the block, not the event line


def test_before_any_wait_event_lines_are_plain() -> None:
    out = Tty()
    Monitor(out, live=True)("nomad: registered job x")
    assert out.getvalue() == "nomad: registered job x\n"


def test_the_block_escapes_model_names_and_is_bounded() -> None:
    others = [(f"m{i:02}", 1, 1, 0, 0, "") for i in range(30)]
    lines = block_lines(status(1.0, ("bad\x1b[2Jname", 0, 1, 0, 0, ""), *others))
    assert "bad\\x1b[2Jname" in "\n".join(lines) and "\x1b" not in "\n".join(lines)
    assert len(lines) == 1 + 20 + 1 and lines[-1] == "  and 11 more model(s)"


@pytest.mark.parametrize(
    ("tty", "term", "live"),
    [(True, "xterm-256color", True), (True, "dumb", False), (False, "xterm", False), (True, "", True)],
    ids=["a terminal", "TERM=dumb", "a pipe", "a terminal without TERM"],
)
def test_live_only_on_a_capable_terminal(tty: bool, term: str, live: bool) -> None:
    stream = Tty() if tty else io.StringIO()
    assert live_terminal(stream, {"TERM": term} if term else {}) is live
