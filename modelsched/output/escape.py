"""Escaping of data (names, labels, reasons, messages) for each output medium.

Everything a plan shows comes from the config, a state file or the cluster, so none
of it may steer the medium it is shown in: no control character reaches a terminal
or a pipe, no Markdown or HTML syntax reaches a pull-request comment, nothing closes
the HTML page's data script. This module owns those rules and nothing else; it must
not know the plan's layout.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Characters that change what a terminal shows or where a line starts: C0 controls
# (newline and tab included: in data they are never layout), DEL, C1 controls, the
# Unicode line/paragraph separators, bidirectional marks, embeddings, overrides and
# isolates (a "Trojan source" reorders the rest of the line), zero-width characters
# (they make two different names look alike), the byte-order mark, and
# lone surrogates (they cannot be written as UTF-8 at all).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _show(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def has_unsafe(text: str) -> bool:
    """Whether `text` holds any character `escape_text` would escape (one C-level scan:
    callers test a whole block of data at once and escape field by field only then)."""
    return _UNSAFE.search(text) is not None


def escape_text(text: str) -> str:
    """`text` safe for a terminal or a log: every control, separator, bidi or surrogate
    character shown as an escape (`\\n`, `\\x1b`, `\\u202e`); other text unchanged."""
    if _UNSAFE.search(text) is None:  # the common case: no copy
        return text
    return _UNSAFE.sub(_show, text)


def escape_lines(text: str) -> str:
    """Our own multi-line message (an error listing problems, one per line) made safe:
    each line escaped as `escape_text` does, the newlines between them kept. Data that
    brought a newline of its own must have been escaped where it entered the message."""
    if _UNSAFE.search(text) is None:
        return text
    return "\n".join(escape_text(line) for line in text.split("\n"))


# What makes a code span need more than two plain backticks around the text.
_MD_CODE_SPECIAL = re.compile(_UNSAFE.pattern[:-1] + "`|]|^ | $|^$")


def md_code(text: str) -> str:
    """A Markdown code span holding `text` literally, safe in a table cell.

    Inside a code span Markdown reads no syntax: no HTML, no links, no autolinks, no
    mentions, no emphasis. The fence is one backtick longer than any run of backticks in
    the text; a pipe is escaped, as GFM tables need even inside code spans."""
    if _MD_CODE_SPECIAL.search(text) is None:  # the common case
        return f"`{text}`"
    shown = escape_text(text).replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", shown)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if shown.startswith(("`", " ")) or shown.endswith(("`", " ")) or not shown else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def md_fence(lines: list[str]) -> list[str]:
    """A fenced code block holding `lines` literally; its fence is longer than any
    backtick run inside, so no line can close it."""
    shown = [escape_text(line) for line in lines]
    longest = max((len(run) for line in shown for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *shown, fence]


def script_json(data: Any) -> str:
    """`data` as JSON that is safe inside an HTML <script> element: ASCII only (lone
    surrogates become escapes), and `<`, `>`, `&`, U+2028, U+2029 as \\u escapes, so no
    `</script>` or `<!--` can end or change the element."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
