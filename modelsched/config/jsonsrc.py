"""JSON text -> located tree (`config.tree`), refusing duplicate object keys.

Uses the standard library's decoder with its pure-Python scanner, hooked so that
every object and array records the line of its opening bracket (scalars and keys get
the line of the object or array that holds them: best effort, but always the right
entry). Sources without lines (inline JSON in an environment variable) get None.
Syntax errors raise ConfigError with json's line/column. No schema validation here.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
from collections.abc import Callable
from typing import Any

from modelsched.config.tree import Located, Map, Scalar, Seq
from modelsched.errors import ConfigError

_Scan = Callable[[str, int], tuple[Any, int]]


def _located(value: Any, line: int | None) -> Located:
    if isinstance(value, (Map, Seq)):
        return value
    return Scalar(value, line)


class _Decoder(json.JSONDecoder):
    def __init__(self, text: str, source: str, with_lines: bool) -> None:
        super().__init__()
        self.source = source
        self.problems: list[str] = []
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"] if with_lines else None
        self.parse_object = self._object
        self.parse_array = self._array
        self.scan_once = json.scanner.py_make_scanner(self)  # type: ignore[attr-defined]

    def line(self, index: int) -> int | None:
        if self._newlines is None:
            return None
        return bisect.bisect_left(self._newlines, index) + 1

    def where(self, line: int | None) -> str:
        return self.source if line is None else f"{self.source}:{line}"

    def _object(
        self, s_and_end: tuple[str, int], strict: bool, scan_once: _Scan, hook: Any, pairs_hook: Any, memo: Any
    ) -> tuple[Map, int]:
        line = self.line(s_and_end[1] - 1)
        raw, end = json.decoder.JSONObject(  # type: ignore[attr-defined]
            s_and_end, strict, scan_once, None, lambda p: p, memo
        )
        pairs: list[tuple[Scalar, Located]] = []
        seen: set[str] = set()
        for key, value in raw:
            if key in seen:
                self.problems.append(f"{self.where(line)}: duplicate key {json.dumps(key, ensure_ascii=False)}")
                continue
            seen.add(key)
            pairs.append((Scalar(key, line), _located(value, line)))
        return Map(pairs, line), end

    def _array(self, s_and_end: tuple[str, int], scan_once: _Scan) -> tuple[Seq, int]:
        line = self.line(s_and_end[1] - 1)
        values, end = json.decoder.JSONArray(s_and_end, scan_once)  # type: ignore[attr-defined]
        return Seq([_located(v, line) for v in values], line), end


def read_json(text: str, source: str, with_lines: bool = True) -> tuple[Located | None, list[str]]:
    """Parse JSON. Returns (tree or None for blank text / `null`, problems).

    Raises ConfigError when the text is not JSON.
    """
    if not text.strip():
        return None, []
    decoder = _Decoder(text, source, with_lines)
    try:
        value = decoder.decode(text)
    except json.JSONDecodeError as exc:
        if with_lines:
            raise ConfigError([f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"]) from None
        raise ConfigError([f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None
    if value is None:
        return None, decoder.problems
    return _located(value, decoder.line(0)), decoder.problems


def is_json(text: str) -> bool:
    """Whether the text parses as JSON (used to sniff stdin)."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
