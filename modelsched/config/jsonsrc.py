"""JSON text -> located tree (`config.tree`), refusing duplicate object keys.

Uses the standard library's decoder with its pure-Python scanner, hooked so that
every object and array records the line of its opening bracket (scalars and keys get
the line of the object or array that holds them: best effort, but always the right
entry). Sources without lines (inline JSON in an environment variable) get None.
Bounded (`config.limits`): nesting deeper than MAX_DEPTH, integers longer than
MAX_INT_DIGITS and the non-JSON constants NaN/Infinity are located errors, never a
RecursionError or a slow conversion. Syntax errors raise ConfigError with json's
line/column. No schema validation here.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
from collections.abc import Callable
from typing import Any

from modelsched.config.limits import MAX_DEPTH, MAX_INT_DIGITS
from modelsched.config.tree import Located, Map, Scalar, Seq
from modelsched.errors import ConfigError
from modelsched.model.base import quote

_Scan = Callable[[str, int], tuple[Any, int]]


class Refused(ValueError):
    """A bound was hit; `index` is where in the text (set by the scanner wrapper)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise Refused(f"integer too long (more than {MAX_INT_DIGITS} digits)")
    return int(text)


def _parse_constant(name: str) -> Any:
    raise Refused(f"{name} is not a JSON number")


def _located(value: Any, line: int | None) -> Located:
    if isinstance(value, (Map, Seq)):
        return value
    return Scalar(value, line)


def _at(scan: _Scan) -> _Scan:
    """The scanner, recording where a refused value starts."""

    def scan_once(s: str, idx: int) -> tuple[Any, int]:
        try:
            return scan(s, idx)
        except Refused as exc:
            if exc.index is None:
                exc.index = idx
            raise

    return scan_once


class _Decoder(json.JSONDecoder):
    def __init__(self, text: str, source: str, with_lines: bool) -> None:
        super().__init__(parse_int=_parse_int, parse_constant=_parse_constant)
        self.source = source
        self.problems: list[str] = []
        self.depth = 0
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"] if with_lines else None
        self.parse_object = self._object
        self.parse_array = self._array
        self.scan_once = _at(json.scanner.py_make_scanner(self))  # type: ignore[attr-defined]

    def line(self, index: int) -> int | None:
        if self._newlines is None:
            return None
        return bisect.bisect_left(self._newlines, index) + 1

    def column(self, index: int) -> int:
        line = self.line(index) or 1
        start = self._newlines[line - 2] + 1 if self._newlines and line > 1 else 0
        return index - start + 1

    def where(self, line: int | None) -> str:
        return self.source if line is None else f"{self.source}:{line}"

    def _enter(self, index: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Refused(f"nested deeper than {MAX_DEPTH} levels", index)

    def _object(
        self, s_and_end: tuple[str, int], strict: bool, scan_once: _Scan, hook: Any, pairs_hook: Any, memo: Any
    ) -> tuple[Map, int]:
        line = self.line(s_and_end[1] - 1)
        self._enter(s_and_end[1] - 1)
        try:
            raw, end = json.decoder.JSONObject(  # type: ignore[attr-defined]
                s_and_end, strict, _at(scan_once), None, lambda p: p, memo
            )
        finally:
            self.depth -= 1
        pairs: list[tuple[Scalar, Located]] = []
        seen: set[str] = set()
        for key, value in raw:
            if key in seen:
                self.problems.append(f"{self.where(line)}: duplicate key {quote(key)}")
                continue
            seen.add(key)
            pairs.append((Scalar(key, line), _located(value, line)))
        return Map(pairs, line), end

    def _array(self, s_and_end: tuple[str, int], scan_once: _Scan) -> tuple[Seq, int]:
        line = self.line(s_and_end[1] - 1)
        self._enter(s_and_end[1] - 1)
        try:
            values, end = json.decoder.JSONArray(s_and_end, _at(scan_once))  # type: ignore[attr-defined]
        finally:
            self.depth -= 1
        return Seq([_located(v, line) for v in values], line), end


def read_json(text: str, source: str, with_lines: bool = True) -> tuple[Located | None, list[str]]:
    """Parse JSON. Returns (tree or None for blank text / `null`, problems).

    Raises ConfigError when the text is not JSON or exceeds a bound.
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
    except Refused as exc:
        index = exc.index or 0
        if with_lines:
            raise ConfigError([f"{source}:{decoder.line(index)}:{decoder.column(index)}: {exc.message}"]) from None
        raise ConfigError([f"{source}: at character {index + 1}: {exc.message}"]) from None
    if value is None:
        return None, decoder.problems
    return _located(value, decoder.line(0)), decoder.problems


class _Slow(Exception):
    """The fast reader met something only the located reader can report well."""


def _wrap(value: Any) -> Located:
    if isinstance(value, Map):
        return value
    if isinstance(value, list):
        return Seq([_wrap(v) for v in value], None)
    return Scalar(value, None)


def _fast_object(pairs: list[tuple[str, Any]]) -> Map:
    keys = {key for key, _ in pairs}
    if len(keys) != len(pairs):
        raise _Slow  # a duplicate key: reported, with its line, by the located reader
    return Map([(Scalar(key, None), _wrap(value)) for key, value in pairs], None)


def _fast_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Slow
    return int(text)


def _fast_constant(name: str) -> Any:
    raise _Slow


def read_json_fast(text: str) -> Located | None:
    """The tree without lines, by the standard library's C scanner (about 20x faster than
    the located reader), or None when the text needs the located reader: a syntax
    error, a duplicate key, a bound hit. A valid document reads the same either way
    (but for the lines), so callers re-read with `read_json` only to report problems."""
    if not text.strip():
        return None
    try:
        value = json.loads(text, object_pairs_hook=_fast_object, parse_int=_fast_int, parse_constant=_fast_constant)
    except (_Slow, ValueError, RecursionError):
        return None
    if value is None:
        return None
    tree = _wrap(value)
    return None if _too_deep(tree) else tree


def _too_deep(tree: Located) -> bool:
    """Whether the tree nests deeper than MAX_DEPTH (iterative: no recursion limit)."""
    stack: list[tuple[Located, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Scalar):
            continue
        if depth > MAX_DEPTH:
            return True
        children = [v for _, v in node.pairs] if isinstance(node, Map) else node.items
        stack.extend((child, depth + 1) for child in children if not isinstance(child, Scalar))
    return False


def is_json(text: str) -> bool:
    """Whether the text is JSON (used to sniff stdin); JSON beyond the bounds counts too,
    so its error is the JSON reader's."""
    try:
        json.loads(text, parse_int=_parse_int, parse_constant=_parse_constant)
    except Refused:
        return True
    except (ValueError, RecursionError):
        return False
    return True
