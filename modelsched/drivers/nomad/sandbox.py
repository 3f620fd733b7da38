"""The Jinja2 environment job templates run in: sandboxed, and with a work budget.

A job template is user input run once per model. The sandbox already keeps it away from
Python internals and caps `range()`; this module also bounds the work of one render, so
nested loops, a huge repetition or a giant power stop with a clear error instead of
running for minutes or eating the memory:

- every `{% for %}` loop iteration and every call costs one step (`MAX_STEPS` per job);
  loops are metered by wrapping each loop's iterable at parse time;
- `*` on strings and lists may not build more than `MAX_ITEMS` characters or items,
  `**` takes exponents up to `MAX_EXPONENT`, and padding (`"%9999999d"`, `"{:>9999999}"`,
  `.ljust(n)`, `.center(n)`, `.zfill(n)`) is limited to `MAX_ITEMS` characters;
- the output of one job is at most `MAX_OUTPUT` characters (counted by the caller while
  it consumes the stream: `Budget.emit`).

It owns no template lookup and no error wording about files (`template` does).
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_STEPS = 200_000
MAX_ITEMS = 1_000_000
MAX_EXPONENT = 1_000
MAX_OUTPUT = 4 * 1024 * 1024
_METER = "modelsched_metered"


class BudgetExceeded(Exception):
    """One render did more work than its budget allows."""


class Budget:
    """The work one render may still do."""

    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.output = MAX_OUTPUT

    def spend(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise BudgetExceeded(
                f"more than {MAX_STEPS:,} loop iterations and calls for one job (nested loops?)"
            )

    def emit(self, text: str) -> None:
        self.output -= len(text)
        if self.output < 0:
            raise BudgetExceeded(f"the output for one job is larger than {MAX_OUTPUT:,} characters")


_CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("modelsched_template_budget", default=None)


def start() -> Budget:
    """A fresh budget for the render about to run in this context."""
    budget = Budget()
    _CURRENT.set(budget)
    return budget


def _spend() -> None:
    budget = _CURRENT.get()
    if budget is not None:
        budget.spend()


def _metered(iterable: Iterable[Any]) -> Iterator[Any]:
    for item in iterable:
        _spend()
        yield item


# Widths and precisions in printf-style (`%08.3f`) and str.format (`{:>10.2}`) specs.
_PRINTF = re.compile(r"%[-#0 +]*(\d*)(?:\.(\d+))?")
_FORMAT = re.compile(r"\{[^{}]*:[^{}\d]*(\d*)(?:\.(\d+))?[^{}]*\}")


def _check_widths(pattern: re.Pattern[str], text: str) -> None:
    for match in pattern.finditer(text):
        for digits in match.groups():
            if digits and (len(digits) > 7 or int(digits) > MAX_ITEMS):
                raise BudgetExceeded(f"a format width of {digits[:12]} is larger than {MAX_ITEMS:,}")


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


class BudgetedEnvironment(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment whose loops, calls and big operators are metered."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters[_METER] = _metered

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _METER, [], [], None, None, lineno=loop.iter.lineno)
        return tree

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend()
        if isinstance(getattr(__obj, "__self__", None), str):  # "x".ljust(n), .center, .zfill, ...
            for arg in (*args, *kwargs.values()):
                if isinstance(arg, int) and arg > MAX_ITEMS:
                    raise BudgetExceeded(f"a string method asked for {arg:,} characters (more than {MAX_ITEMS:,})")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:  # "{:>9999999}".format(x): check the widths first
            _check_widths(_FORMAT, value.__self__)
        return wrapped

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                size = _length(seq)
                if size is not None and isinstance(times, int) and size * times > MAX_ITEMS:
                    raise BudgetExceeded(f"a repetition would build {size * times:,} items (more than {MAX_ITEMS:,})")
        elif operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise BudgetExceeded(f"an exponent of {right} is larger than {MAX_EXPONENT:,}")
        elif operator == "%" and isinstance(left, str):
            _check_widths(_PRINTF, left)
        return super().call_binop(context, operator, left, right)
