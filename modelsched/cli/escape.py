"""Terminal-safe text: data from configs, state files and clusters never carries control
characters to the terminal (no cursor moves, no colour, no bidirectional overrides)."""

from __future__ import annotations

import re

# C0 and C1 controls (newline and tab kept), zero-width and bidirectional marks.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def escape(text: str) -> str:
    """`text` with each unsafe character shown as its Python escape (`\\x1b`, `\\u202e`)."""
    return _UNSAFE.sub(lambda m: repr(m.group())[1:-1], text)
