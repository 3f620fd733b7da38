"""JSON configs are read by the standard library's C scanner first; the located reader
runs only to report problems. Both must read a valid document to the same values."""

from __future__ import annotations

from typing import Any

import pytest

from modelsched.config.jsonsrc import read_json, read_json_fast
from modelsched.config.tree import Located, Map, Scalar, Seq
from tests.config.loadhelp import problems


def values(node: Located) -> Any:
    """The tree as data, keys included as written (no lines)."""
    if isinstance(node, Seq):
        return ["seq", [values(item) for item in node.items]]
    if isinstance(node, Map):
        return ["map", [(k.value, values(v)) for k, v in node.pairs]]
    assert isinstance(node, Scalar)
    return ["scalar", type(node.value).__name__, node.value]


VALID = [
    pytest.param('[{"model_name": "a", "node_selector": {"tier": "gpu"}, "replicas": "all"}]', id="a LocalAI list"),
    pytest.param('{"nomad": {"datacenters": ["dc1"]}, "models": []}', id="a mapping with settings"),
    pytest.param('[{"model_name": "m", "vars": {"a": [1, 2.5, true, null, {"b": [[]]}], "n": -7}}]', id="nested vars"),
    pytest.param('[{"model_name": "\\u00e9t\\u00e9", "vars": {"x": 1e400}}]', id="escapes and a float overflow"),
    pytest.param("[" * 63 + "]" * 63, id="nested just within the bound"),
]


@pytest.mark.parametrize("text", VALID)
def test_the_fast_reader_reads_what_the_located_reader_reads(text: str) -> None:
    fast = read_json_fast(text)
    slow, found = read_json(text, "s.json")
    assert fast is not None and slow is not None and found == []
    assert values(fast) == values(slow)


NEEDS_LOCATED = [
    pytest.param('[{"model_name": "a", "model_name": "b"}]', id="a duplicate key"),
    pytest.param('[{"model_name": "a", "min_replicas": ' + "1" * 21 + "}]", id="an integer over 20 digits"),
    pytest.param('[{"model_name": "a", "vars": {"x": NaN}}]', id="NaN"),
    pytest.param("[" * 65 + "]" * 65, id="nesting beyond the bound"),
    pytest.param("[" * 5000 + "]" * 5000, id="nesting beyond the recursion limit"),
    pytest.param('[{"model_name": "a",}]', id="a syntax error"),
]


@pytest.mark.parametrize("text", NEEDS_LOCATED)
def test_the_fast_reader_hands_over_whatever_needs_a_located_message(text: str) -> None:
    assert read_json_fast(text) is None


def test_problems_in_a_json_file_still_carry_their_lines() -> None:
    text = '[\n  {"model_name": "a"},\n  {"model_name": "b", "min_replicas": -1}\n]'
    assert problems(text, "json") == ["s.json:3: entry 2 (b): min_replicas must be >= 0"]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_integers_of_20_digits_are_read_and_of_21_refused(fmt: str) -> None:
    from tests.config.loadhelp import load

    ok = '[{"model_name": "m", "vars": {"n": -' + "9" * 20 + "}}]"
    assert load(ok, fmt).entries[0].vars["n"] == -int("9" * 20)  # type: ignore[arg-type]
    (message,) = problems(ok.replace("9" * 20, "9" * 21), fmt)  # type: ignore[arg-type]
    assert message.endswith("integer too long (more than 20 digits)")


def test_nesting_of_64_levels_is_read_and_of_65_refused() -> None:
    deep = '[{"model_name": "m", "vars": {"x": ' + "[" * 61 + "]" * 61 + "}}]"
    assert read_json(deep, "s.json")[0] is not None  # 1 list + 1 entry + vars + 61 = 64 levels
    (message,) = problems(deep.replace("[" * 61, "[" * 62).replace("]" * 61, "]" * 62), "json")
    assert message.endswith("nested deeper than 64 levels")
