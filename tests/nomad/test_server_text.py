"""Text from a Nomad server enters messages on one line, with control characters escaped."""

from __future__ import annotations

import pytest

from modelsched.drivers.nomad.connection import Connection
from modelsched.drivers.nomad.dryrun import placement_failure
from modelsched.drivers.nomad.failures import MAX_SHOWN, Failures, plain
from tests.nomad.flow import TOKEN


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("a\tb", "a\\tb"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("x\u202ey", "x\\u202ey"),
        ("x\u2028y", "x\\u2028y"),
        ("x\x85y", "x\\x85y"),
        ("héllo – ok", "héllo – ok"),
    ],
    ids=["a newline", "CR LF", "a tab", "an escape sequence", "a bidirectional override", "a line separator",
         "a C1 next-line", "ordinary non-ASCII text is kept"],
)
def test_server_text_is_one_line_of_inert_characters(text: str, shown: str) -> None:
    assert plain(text) == shown


def test_a_body_is_scrubbed_then_escaped_then_cut() -> None:
    failures = Failures(Connection(token=TOKEN))
    assert failures.cut(f"  tok {TOKEN}\nApply complete  ") == "tok <redacted>\\nApply complete"
    long = failures.cut("\n" * MAX_SHOWN)
    assert long == "" and "\n" not in failures.cut("x" + "\n" * MAX_SHOWN + "y")
    assert len(failures.cut("x" + "\n" * MAX_SHOWN + "y")) == MAX_SHOWN + 3


def test_a_placement_failure_from_the_server_stays_on_one_line() -> None:
    metric = {"NodesEvaluated": 2, "ConstraintFiltered": {"${meta.tier}\nApply complete": 2}}
    text = placement_failure(metric)
    assert "\n" not in text and "${meta.tier}\\nApply complete (2)" in text
    assert placement_failure("odd\nanswer") == "odd\\nanswer"
