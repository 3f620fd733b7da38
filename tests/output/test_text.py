"""Output rules: colour only on a TTY and never with NO_COLOR / --no-color."""

from __future__ import annotations

import io

import pytest

from modelsched.output import format_text, use_colour
from modelsched.planner import plan
from tests.builders import desired, node, observed, spread


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
    ],
    ids=[
        "a terminal gets colour",
        "a pipe gets none",
        "--no-color wins",
        "NO_COLOR wins",
        "NO_COLOR set empty is unset",
    ],
)
def test_colour_rules(stream: io.StringIO, flag: bool, env: dict[str, str], expected: bool) -> None:
    assert use_colour(stream, flag, env) is expected


def test_colour_marks_additions_green_and_removals_red() -> None:
    p = plan(desired(spread("m", tier="gpu")), observed([node("a", tier="gpu"), node("b")], [("m", "b")]))
    text = format_text(p, colour=True)
    assert "\x1b[32m+ a" in text and "\x1b[31m- b" in text
    assert "\x1b[" not in format_text(p, colour=False)
