"""A small subset of HashiCorp's go-bexpr filter language, as Nomad's `filter` param uses it.

Owns parsing and evaluating filter expressions against plain JSON dicts. It must not
know about nodes, jobs or HTTP. Supported (the subset the driver needs, NOMAD.md
"filter runs on the full node"): selectors `A.b`, `A["b"]`, operators `==`, `!=`,
`contains`, `not contains`, `in`, `not in`, `is empty`, `is not empty`, joined with
`and`, `or`, `not` and parentheses. Literals follow hashicorp/go-bexpr grammar/grammar.peg: `StringLiteral` is a
backquoted raw string or a double-quoted run of any characters but `"` (so `\"` can
never escape a quote: the literal ends there), then `strconv.Unquote` (Go escapes, no
`\'`, no raw newline; a dangling backslash fails). `Identifier` is
`[a-zA-Z][a-zA-Z0-9_/]*`. Numbers and true/false are literals too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]


class FilterError(ValueError):
    """A malformed filter; the server turns it into HTTP 400 like Nomad does."""


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>"[^"]*")
    |(?P<raw>`[^`]*`)
    |(?P<open>["`])
    |(?P<op>==|!=|\(|\)|\[|\]|\.)
    |(?P<num>-?\d+(?:\.\d+)?)
    |(?P<word>[A-Za-z][A-Za-z0-9_/]*)
    )""",
    re.VERBOSE,
)
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[0-7]{3}|.)", re.DOTALL)


def _unescape_one(match: re.Match[str]) -> str:
    code = match.group(1)
    if code in _ESCAPES:
        return _ESCAPES[code]
    if code[0] in "uUx":
        value = int(code[1:], 16)
        if code[0] != "x" and (0xD800 <= value <= 0xDFFF or value > 0x10FFFF):
            raise FilterError(f"invalid escape sequence \\{code} in string literal")  # !utf8.ValidRune
        return chr(value)
    if code[0] in "01234567" and len(code) == 3:
        return chr(int(code, 8))
    raise FilterError(f"invalid escape sequence \\{code} in string literal")


def _unescape(body: str) -> str:
    # strconv.Unquote of a double-quoted literal: Go escapes only; a raw newline or a lone backslash fails.
    if "\n" in body or (len(body) - len(body.rstrip("\\"))) % 2 == 1:
        raise FilterError("invalid syntax")
    return _ESCAPE.sub(_unescape_one, body)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FilterError(f"1:{pos + 1} ({pos}): no match found, unexpected {text[pos:pos + 10]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "open":
            raise FilterError(f"1:{pos + 1} ({pos}): rule \"string\": Unterminated string literal")
        if kind == "str":
            value = _unescape(value[1:-1])
        elif kind == "raw":
            kind, value = "str", value[1:-1].replace("\r", "")
        tokens.append((kind, value))
        pos = match.end()
    return tokens


def _lookup(obj: Any, path: list[str]) -> tuple[bool, Any]:
    for key in path:
        if isinstance(obj, dict) and key in obj:
            obj = obj[key]
        else:
            return False, None
    return True, obj


def _as_text(value: Any) -> str:
    # bexpr coerces the literal to the field's type; comparing text forms is equivalent here.
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _contains(container: Any, literal: str) -> bool:
    if isinstance(container, str):
        return literal in container
    if isinstance(container, dict):
        return literal in container
    if isinstance(container, list):
        return literal in [_as_text(item) for item in container]
    return False


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ("eof", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.pos += 1
        return token

    def expect(self, kind: str, value: str | None = None) -> str:
        got_kind, got_value = self.take()
        if got_kind != kind or (value is not None and got_value != value):
            raise FilterError(f"no match found, expected {value or kind}, got {got_value or got_kind!r}")
        return got_value

    def is_word(self, word: str, offset: int = 0) -> bool:
        kind, value = self.peek(offset)
        return kind == "word" and value == word

    def parse(self) -> Predicate:
        if not self.tokens:
            raise FilterError("no match found, expected an expression")
        pred = self.or_expr()
        if self.peek()[0] != "eof":
            raise FilterError(f"no match found, unexpected {self.peek()[1]!r}")
        return pred

    def or_expr(self) -> Predicate:
        left = self.and_expr()
        while self.is_word("or"):
            self.take()
            right = self.and_expr()
            left = (lambda a, b: lambda o: a(o) or b(o))(left, right)
        return left

    def and_expr(self) -> Predicate:
        left = self.not_expr()
        while self.is_word("and"):
            self.take()
            right = self.not_expr()
            left = (lambda a, b: lambda o: a(o) and b(o))(left, right)
        return left

    def not_expr(self) -> Predicate:
        if self.is_word("not"):
            self.take()
            inner = self.not_expr()
            return lambda o: not inner(o)
        if self.peek() == ("op", "("):
            self.take()
            inner = self.or_expr()
            self.expect("op", ")")
            return inner
        return self.match_expr()

    def literal(self) -> str:
        kind, value = self.take()
        if kind in ("str", "num") or (kind == "word" and value in ("true", "false")):
            return value
        raise FilterError(f"no match found, expected a value, got {value or kind!r}")

    def selector(self) -> list[str]:
        path = [self.expect("word")]
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                path.append(self.expect("word"))
            else:
                path.append(self.expect("str"))
                self.expect("op", "]")
        return path

    def match_expr(self) -> Predicate:
        if self.peek()[0] in ("str", "num"):  # `"value" in Selector`
            literal = self.literal()
            negate = self.is_word("not")
            if negate:
                self.take()
            self.expect("word", "in")
            path = self.selector()
            return lambda o: _contains(_lookup(o, path)[1], literal) != negate
        path = self.selector()
        kind, value = self.take()
        if (kind, value) == ("op", "=="):
            literal = self.literal()
            return lambda o: _lookup(o, path)[0] and _as_text(_lookup(o, path)[1]) == literal
        if (kind, value) == ("op", "!="):
            literal = self.literal()
            return lambda o: not (_lookup(o, path)[0] and _as_text(_lookup(o, path)[1]) == literal)
        if kind == "word" and value == "is":
            negate = self.is_word("not")
            if negate:
                self.take()
            self.expect("word", "empty")
            return lambda o: (not _lookup(o, path)[1]) != negate
        negate = kind == "word" and value == "not"
        if negate:
            kind, value = self.take()
        if kind == "word" and value == "contains":
            literal = self.literal()
            return lambda o: _contains(_lookup(o, path)[1], literal) != negate
        raise FilterError(f"no match found, expected an operator, got {value or kind!r}")


def compile_filter(text: str) -> Predicate:
    """Compile a filter; raises FilterError with Nomad's message prefix on bad input."""
    try:
        return _Parser(text).parse()
    except FilterError as err:
        # Nomad wraps bexpr errors as "failed to read filter expression: <detail>" (HTTP 400).
        raise FilterError(f"failed to read filter expression: {err}") from None
