"""The simulator's filter language and constraint operands, as tables and properties."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.nomadsim.bexpr import FilterError, compile_filter
from tests.nomadsim.constraints import satisfies

NODE: dict[str, Any] = {
    "ID": "id-1", "Name": "n1", "NodeClass": "big", "NodePool": "default", "Datacenter": "dc1", "Status": "ready",
    "Drain": False,
    "Meta": {"tier": "gpu", "zones": "a, b", "model-set": "x,y,z"},
    "Attributes": {"kernel.name": "linux", "nomad.version": "1.11.2"},
}


@pytest.mark.parametrize(
    "expression, expected",
    [
        ('Meta.tier == "gpu"', True),
        ('Meta["tier"] == "gpu"', True),
        ('Meta["model-set"] == "x,y,z"', True),
        ('Meta.tier != "gpu"', False),
        ('Meta.missing == "gpu"', False),
        ('Meta.missing != "gpu"', True),
        ('NodeClass == "big" and Datacenter == "dc1" and NodePool == "default"', True),
        ('Status == "down" or (Meta.tier == "gpu" and not Drain == true)', True),
        ('"tier" in Meta', True),
        ('Meta is not empty', True),
        ("Meta.tier == `gpu`", True),
    ],
)
def test_filters_select_on_the_full_node(expression: str, expected: bool) -> None:
    assert compile_filter(expression)(NODE) is expected


MALFORMED = [
    'Meta.tier == "gpu', 'Meta.tier == "a\\/b"', "Meta.tier ==", "and", 'Meta.tier = "gpu"', "(a == 1",
    'Meta.tier == "a\\"b"', "Meta.tier == \"it\\'s\"", 'Meta.tier == "a\\"', "Meta.model-set == `x`",
    'Meta.tier == "line\nbreak"', "Meta.tier == `open",
]


@pytest.mark.parametrize("expression", MALFORMED)
def test_malformed_filters_are_refused_with_nomads_prefix(expression: str) -> None:
    with pytest.raises(FilterError, match=r"^failed to read filter expression: "):
        compile_filter(expression)


@given(st.text(st.characters(exclude_categories=["Cs"], exclude_characters='"')))
def test_any_value_without_a_double_quote_quoted_with_json_escapes_matches_itself(value: str) -> None:
    """Follows go-bexpr grammar/grammar.peg StringLiteral + strconv.Unquote: JSON escapes are Go escapes,
    but a `"` can never be written inside a double-quoted literal (a raw string is the only way)."""
    node = {"Meta": {"k": value}}
    assert compile_filter(f"Meta.k == {json.dumps(value, ensure_ascii=False)}")(node)
    assert not compile_filter(f"Meta.k != {json.dumps(value, ensure_ascii=False)}")(node)


def rule(left: str, operand: str, right: str = "") -> dict[str, str]:
    return {"LTarget": left, "Operand": operand, "RTarget": right}


@pytest.mark.parametrize(
    "constraint, expected",
    [
        (rule("${meta.tier}", "=", "gpu"), True),
        (rule("${meta.tier}", "==", "cpu"), False),
        (rule("${meta.tier}", "is", "gpu"), True),
        (rule("${meta.tier}", "!=", "cpu"), True),
        (rule("${meta.missing}", "!=", "cpu"), True),
        (rule("${meta.missing}", "not", "cpu"), True),
        (rule("${meta.missing}", "!=", "${meta.other_missing}"), False),
        (rule("${meta.zones}", "set_contains_any", "c,"), False),
        (rule("${node.region}", "=", "global"), False),
        (rule("${node.unique.id}", "set_contains_any", "id-0, id-1"), True),
        (rule("${meta.zones}", "set_contains_all", "b,a"), True),
        (rule("${meta.zones}", "set_contains", "a,c"), False),
        (rule("${node.unique.name}", "regexp", "^n[0-9]$"), True),
        (rule("${node.class}", "=", "big"), True),
        (rule("${node.pool}", "=", "default"), True),
        (rule("${node.datacenter}", "=", "dc2"), False),
        (rule("${attr.kernel.name}", "=", "linux"), True),
        (rule("${meta.tier}", "is_set"), True),
        (rule("${meta.missing}", "is_not_set"), True),
        (rule("", "distinct_hosts", "true"), True),
        (rule("${attr.kernel.name}", ">", "l"), True),
        (rule("${attr.nomad.version}", "semver", ">= 1.4.0"), True),
        (rule("${attr.nomad.version}", "version", ">= 1.12, < 2"), False),
    ],
)
def test_constraint_operands(constraint: dict[str, str], expected: bool) -> None:
    assert satisfies(NODE, constraint) is expected
