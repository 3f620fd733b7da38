"""Shared pydantic base, and the text rules every name obeys wherever it comes from.

Every schema model forbids unknown keys and is immutable. `name_problem` is the one
rule for model names, node names, label keys/values and similar identifiers: the
config reader and the plan-file reader both call it, so a saved plan can never hold a
name the config would refuse. Pure: no I/O.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


# Bounds on untrusted structured input (config documents, env JSON, plan files).
# Nesting of lists and mappings: config documents; plan files (Nomad jobs nest ~12 deep).
MAX_DEPTH = 64
# Digits of one integer literal: 20 hold any 64-bit value; longer ones cost quadratic time.
MAX_INT_DIGITS = 20

# Longest model name, node name, label key or value accepted: generous for any real
# name, small enough that no single field can flood a terminal or a request.
MAX_NAME = 512

# Characters that can rewrite what a terminal or a reviewer sees: C0 controls (newline
# and tab included: names have neither), DEL, C1 controls, the bidirectional
# embeddings/overrides (U+202A-U+202E) and isolates (U+2066-U+2069), and lone
# surrogates (not text at all; they cannot even be encoded as UTF-8).
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate of `text` in hex as `U+hhhh` (text that cannot be UTF-8), or None."""
    found = _SURROGATE.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def control_character(text: str) -> str | None:
    """The first forbidden character of `text`, written as `U+hhhh` (hex), or None."""
    found = _FORBIDDEN.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def text_problem(text: str, limit: int = MAX_NAME) -> str | None:
    """Why `text` is not acceptable as a name-like value (may be empty), or None."""
    bad = control_character(text)
    if bad is not None:
        return f"contains the control character {bad}"
    if len(text) > limit:
        return f"is longer than {limit} characters"
    return None


def name_problem(text: str, limit: int = MAX_NAME) -> str | None:
    """Why `text` is not a valid non-blank name (model or node name), or None."""
    if not text.strip():
        return "is blank"
    return text_problem(text, limit)


def quote(value: object) -> str:
    """`value` as JSON for a message (`"gpt-oss"`), with every forbidden character escaped
    (`\\u001b`, `\\u202e`), so that data quoted in an error cannot drive a terminal."""
    return escape(json.dumps(value, ensure_ascii=False, default=str))


def escape(text: str) -> str:
    """`text` with every forbidden character written as a `\\uhhhh` (hex) escape."""
    return _FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
