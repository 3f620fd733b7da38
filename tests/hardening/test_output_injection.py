"""Output cannot be forged: attacks through names, labels, reasons, notes, diagnostics,
diff lines and operation details, and the outcome each format promises.

Data in a plan comes from the config, a state file or the cluster; a reviewer reads the
plan in a terminal, a CI log, a pull-request comment or a browser. Each attack below
puts hostile text in one data field; each test states what every format guarantees.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from modelsched.model.plan import Change, Diagnostic, Operation, Plan, UnlistedModel, dump_plan
from modelsched.output import escape_text, format_html, format_markdown, format_text
from tests.output.chromium import Chromium, find_chromium
from tests.output.plans import make_plan, model

# (id, hostile text)
ATTACKS = [
    ("a newline forges a summary line", "x\nPlan: 0 to add, 0 to remove."),
    ("a carriage return overwrites the line", "x\rPlan: 0 to add"),
    ("an ANSI escape clears the screen", "x\x1b[2J\x1b[H"),
    ("an OSC 8 escape hides a link", "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07"),
    ("a C1 CSI introduces a control sequence", "x\x9b31m"),
    ("DEL and NUL hide characters", "a\x7fb\x00c"),
    ("a bidi override reverses the rest of the line", "gpu-1\u202e1-upg"),
    ("a bidi isolate reorders text", "a\u2066b\u2069c"),
    ("a Unicode line separator breaks the line in some viewers", "a\u2028b\u2029c"),
    ("a tab shifts the columns", "a\tb"),
    ("a lone surrogate cannot be encoded", "a\ud800b"),
    ("HTML in a label", '<img src=x onerror="alert(1)">'),
    ("a script end tag in a name", "</script><script>alert(1)</script>"),
    ("an HTML comment opener", "<!--"),
    ("a Markdown link", "[click](https://evil.example)"),
    ("a bare autolink and a mention", "www.evil.example @org/team https://evil.example"),
    ("a pipe splits a table cell", "a | b | c"),
    ("backticks close a code span", "a`b``c```d"),
    ("emphasis and headings", "**bold** _it_ # h ~~s~~"),
    ("a Markdown fence", "```\n# forged"),
]
IDS = [a[0] for a in ATTACKS]
TEXTS = [a[1] for a in ATTACKS]

# Characters that may never reach a terminal from data (newline: only the layout's own).
FORBIDDEN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


def _hostile(bad: str) -> Plan:
    """`bad` in every data field a plan shows."""
    plan = make_plan(
        [
            Change(bad, bad, "add", "spread", {bad: bad, "tier": bad}, bad, note=bad),
            Change(bad, "n2", "remove", "node_unhealthy", {"k": bad}, "n2"),
        ],
        [model(bad, "spread", 1, 1, 1, **{bad: bad})],
        operations=[Operation(model=bad, target=bad, action="update", detail=bad, restarts=1, diff=[bad, f"~ {bad}"])],
        unlisted=[UnlistedModel(model=bad, replicas=1, nodes=1)],
        diagnostics=[Diagnostic(level="warning", model=bad, message=bad)],
        cluster={"state": bad},
    )
    return plan.model_copy(update={"generator": bad})


@pytest.mark.parametrize("bad", TEXTS, ids=IDS)
@pytest.mark.parametrize("colour", [False, True], ids=["plain", "coloured"])
def test_text_output_carries_no_control_character_from_data(bad: str, colour: bool) -> None:
    text = format_text(_hostile(bad), colour=colour)
    if colour:  # only our own SGR sequences: ESC [ digits/semicolons m
        text = re.sub("\x1b\\[[0-9;]*m", "", text)
    assert FORBIDDEN.search(text) is None
    text.encode("utf-8")  # writable to any UTF-8 terminal or pipe


@pytest.mark.parametrize("bad", TEXTS, ids=IDS)
def test_a_newline_in_data_never_starts_a_line_of_its_own(bad: str) -> None:
    lines = format_text(_hostile(bad)).splitlines()
    assert not any(line.startswith(("Plan:", "# forged")) for line in lines[:-1])
    assert lines[-1] == "Plan: 1 to add, 1 to remove, 1 to restart."


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\rb\tc", "a\\rb\\tc"),
        ("\x1b[31m", "\\x1b[31m"),
        ("\x9b", "\\x9b"),
        ("\x7f", "\\x7f"),
        ("x\u202ey", "x\\u202ey"),
        ("\u2066\u2069", "\\u2066\\u2069"),
        ("a\ud800", "a\\ud800"),
        ("gpu-1 ok é 漢字 😀", "gpu-1 ok é 漢字 😀"),
    ],
    ids=[
        "newline as \\n",
        "carriage return and tab as \\r \\t",
        "ESC as \\x1b",
        "C1 as \\x9b",
        "DEL as \\x7f",
        "bidi override as \\u202e",
        "bidi isolates as \\u2066 \\u2069",
        "lone surrogate as \\ud800",
        "printable Unicode is left alone",
    ],
)
def test_escape_text_shows_escapes(raw: str, shown: str) -> None:
    assert escape_text(raw) == shown


def _outside_code(md: str) -> str:
    """The Markdown with its code spans and fenced blocks removed: what Markdown parses."""
    md = re.sub(r"^(`{3,})\n.*?\n\1$", "", md, flags=re.S | re.M)
    return re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", md)


@pytest.mark.parametrize("bad", TEXTS, ids=IDS)
def test_markdown_keeps_every_data_field_inside_code(bad: str) -> None:
    md = format_markdown(_hostile(bad))
    prose = _outside_code(md)
    for needle in ("<img", "<script", "</script", "<!--", "](", "www.", "@org", "https:", "**bold", "~~", "# forged"):
        assert needle not in prose
    assert FORBIDDEN.search(md) is None


@pytest.mark.parametrize("bad", TEXTS, ids=IDS)
def test_markdown_table_rows_keep_their_cell_count(bad: str) -> None:
    md = format_markdown(_hostile(bad))
    widths = {"| Model | Mode |": 7, "| Model | Target |": 5, "| Model | Node |": 5}
    table = 0
    for line in md.splitlines():
        for head, cells in widths.items():
            if line.startswith(head):
                table = cells
        if not line.startswith("|"):
            table = 0
        elif table:
            unescaped = len(re.findall(r"(?<!\\)\|", line))
            assert unescaped == table + 1, line


@pytest.mark.parametrize("bad", TEXTS, ids=IDS)
def test_html_has_only_its_own_elements_and_its_data_stays_in_its_script(bad: str) -> None:
    page = format_html(_hostile(bad))
    page.encode("utf-8")
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "<img" not in page
    assert "<!--" not in page
    assert "\u2028" not in page and "\u2029" not in page
    data = page.split('<script type="application/json" id="plan-data">')[1].split("</script>")[0]
    decoded = json.loads(data)
    assert escape_text(bad) in {m[0] for m in decoded["models"]}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.handlers: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.handlers += [(tag, name) for name, _ in attrs if name.startswith("on")]


OWN_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "p", "code", "main", "section", "h2",
    "ul", "li", "strong", "details", "summary", "span", "pre", "table", "thead", "tr", "th", "tbody", "td",
    "button", "form", "label", "select", "option", "fieldset", "legend", "input", "div", "noscript", "script",
}  # fmt: skip


@pytest.mark.parametrize("bad", TEXTS, ids=IDS)
def test_html_data_adds_no_element_and_no_event_handler(bad: str) -> None:
    parser = _Tags()
    parser.feed(format_html(_hostile(bad)))
    assert parser.tags <= OWN_TAGS
    assert parser.handlers == [("form", "onsubmit")]


def test_json_output_stays_valid_utf8_for_a_lone_surrogate() -> None:
    plan = _hostile("a\ud800b")
    text = dump_plan(plan)
    text.encode("utf-8")  # raises if a surrogate was written raw
    assert json.loads(text)["models"][0]["model"] == "a\ud800b"


@pytest.mark.parametrize(
    "bad", [t for t in TEXTS if "\ud800" not in t], ids=[i for i, t in ATTACKS if "\ud800" not in t]
)
def test_json_output_round_trips_any_other_text_exactly(bad: str) -> None:
    text = dump_plan(_hostile(bad))
    assert bad in {c["node"] for c in json.loads(text)["changes"]}


PWN = [
    '<img src=x onerror="window.pwned=1">',
    "</script><script>window.pwned=1</script>",
    "\"'><svg onload=window.pwned=1>",
    "<!--<script>window.pwned=1</script>",
    "\u2028window.pwned=1//",
]


@pytest.mark.skipif(find_chromium() is None, reason="no chromium on this machine")
def test_in_a_browser_hostile_names_are_shown_as_text_and_run_nothing(tmp_path: Path) -> None:
    plan = make_plan(
        [Change(bad, bad, "add", "spread", {bad: bad}, bad, note=bad) for bad in PWN],
        [model(bad, **{bad: bad}) for bad in PWN],
        diagnostics=[Diagnostic(level="warning", model=bad, message=bad) for bad in PWN],
    )
    path = tmp_path / "hostile.html"
    path.write_text(format_html(plan), encoding="utf-8")
    with Chromium() as browser:
        page = browser.open(path)
        assert page.eval("window.pwned === undefined")
        assert page.eval("document.querySelectorAll('img, svg').length") == 0
        assert page.eval("document.querySelectorAll('script').length") == 2
        options = page.eval("[...document.querySelectorAll('#f-model option')].slice(1).map(o => o.text)")
        assert sorted(options) == sorted(escape_text(bad) for bad in PWN)
        cells = page.eval(
            "[...document.querySelectorAll('.node .c[aria-label]')].map(c => c.getAttribute('aria-label'))"
        )
        assert sorted(cells) == sorted(
            f"{escape_text(b)}, {escape_text(b)}: added (spread ({escape_text(b)}))" for b in PWN
        )
        page.eval("[...document.querySelectorAll('.c, .rh, .ch')].forEach(e => e.click())")
        assert page.eval("window.pwned === undefined")
