"""Entry rules of the input contract (DESIGN.md "Scheduling config"), one row per rule.

Each entry is written as a one-line JSON object, which is also valid YAML, so the type
rules are checked under both formats with the same text. Every message is exact,
including LocalAI's wording, and located `s.<fmt>:1: entry 1 (model): `.
"""

from __future__ import annotations

from typing import Any

import pytest

from modelsched.config.load import Format
from tests.config.loadhelp import only_entry, problems

BOTH: list[Format] = ["yaml", "json"]

INVALID = [
    pytest.param('{"min_replicas": 1}', "entry 1: model_name is required", id="model_name is required"),
    pytest.param('{"model_name": "  "}', "entry 1: model_name is required", id="a blank model_name is missing"),
    pytest.param('{"model_name": null}', "entry 1: model_name is required", id="a null model_name is missing"),
    pytest.param(
        '{"model_name": 5}', "entry 1: model_name must be a string (got integer 5)", id="model_name must be a string"
    ),
    pytest.param(
        '{"model_name": "m", "replicas": 3}',
        'entry 1 (m): invalid replicas value 3 (use min_replicas/max_replicas for a fixed count, or "all" to spread)',
        id="a replica count points to min/max (LocalAI wording)",
    ),
    pytest.param(
        '{"model_name": "m", "replicas": 2.5}',
        'entry 1 (m): invalid replicas value 2.5 (use min_replicas/max_replicas for a fixed count, or "all" to spread)',
        id="a fractional replica count is a number too",
    ),
    pytest.param(
        '{"model_name": "m", "replicas": "x"}',
        'entry 1 (m): invalid replicas value "x" (expected "all" or "auto")',
        id="another replicas string expects all or auto (LocalAI wording)",
    ),
    pytest.param(
        '{"model_name": "m", "replicas": "3"}',
        'entry 1 (m): invalid replicas value "3" (expected "all" or "auto")',
        id="a quoted count is a string, not a number",
    ),
    pytest.param(
        '{"model_name": "m", "replicas": ["all"]}',
        'entry 1 (m): replicas must be "all", "auto", true or false (got a list)',
        id="replicas cannot be a list",
    ),
    pytest.param(
        '{"model_name": "m", "spread_all": "yes"}',
        'entry 1 (m): spread_all must be true or false (got string "yes")',
        id="spread_all must be a boolean",
    ),
    pytest.param('{"model_name": "m", "min_replicas": -1}', "entry 1 (m): min_replicas must be >= 0", id="min >= 0"),
    pytest.param('{"model_name": "m", "max_replicas": -1}', "entry 1 (m): max_replicas must be >= 0", id="max >= 0"),
    pytest.param(
        '{"model_name": "m", "min_replicas": "2"}',
        'entry 1 (m): min_replicas must be an integer (got string "2")',
        id="a quoted number is not an integer",
    ),
    pytest.param(
        '{"model_name": "m", "min_replicas": true}',
        "entry 1 (m): min_replicas must be an integer (got boolean true)",
        id="a boolean is not an integer",
    ),
    pytest.param(
        '{"model_name": "m", "max_replicas": 2.0}',
        "entry 1 (m): max_replicas must be an integer (got number 2.0)",
        id="an integer-valued float is not an integer",
    ),
    pytest.param(
        '{"model_name": "m", "min_replicas": 3, "max_replicas": 2}',
        "entry 1 (m): min_replicas must be <= max_replicas",
        id="min must not exceed a non-zero max (LocalAI wording)",
    ),
    pytest.param(
        '{"model_name": "m", "replicas": "all", "min_replicas": 1}',
        "entry 1 (m): spread (replicas: all) and min_replicas/max_replicas are mutually exclusive",
        id="spread excludes min (LocalAI wording)",
    ),
    pytest.param(
        '{"model_name": "m", "spread_all": true, "max_replicas": 2}',
        "entry 1 (m): spread (replicas: all) and min_replicas/max_replicas are mutually exclusive",
        id="spread_all excludes max",
    ),
    pytest.param(
        '{"model_name": "m", "route_policy": "fastest"}',
        'entry 1 (m): route_policy must be "", "round_robin" or "prefix_cache" (got string "fastest")',
        id="route_policy names the allowed values",
    ),
    pytest.param(
        '{"model_name": "m", "balance_abs_threshold": -1}',
        "entry 1 (m): balance_abs_threshold must be >= 0",
        id="balance_abs_threshold >= 0",
    ),
    pytest.param(
        '{"model_name": "m", "balance_abs_threshold": 1.5}',
        "entry 1 (m): balance_abs_threshold must be an integer (got number 1.5)",
        id="balance_abs_threshold is an integer",
    ),
    pytest.param(
        '{"model_name": "m", "balance_rel_threshold": 0.5}',
        "entry 1 (m): balance_rel_threshold must be 0 or >= 1",
        id="balance_rel_threshold is 0 or at least 1",
    ),
    pytest.param(
        '{"model_name": "m", "balance_rel_threshold": "2"}',
        'entry 1 (m): balance_rel_threshold must be a number (got string "2")',
        id="balance_rel_threshold is a number",
    ),
    pytest.param(
        '{"model_name": "m", "min_prefix_match": 1.5}',
        "entry 1 (m): min_prefix_match must be between 0 and 1",
        id="min_prefix_match above 1",
    ),
    pytest.param(
        '{"model_name": "m", "min_prefix_match": -0.1}',
        "entry 1 (m): min_prefix_match must be between 0 and 1",
        id="min_prefix_match below 0",
    ),
    pytest.param(
        '{"model_name": "m", "scorer_weights": [1]}',
        "entry 1 (m): scorer_weights must be a mapping (got a list)",
        id="scorer_weights is a mapping",
    ),
    pytest.param(
        '{"model_name": "m", "vars": "x"}',
        'entry 1 (m): vars must be a mapping (got string "x")',
        id="vars is a mapping",
    ),
    pytest.param(
        '{"model_name": "m", "placement": "pin"}',
        'entry 1 (m): placement must be "scheduler" or "pinned" (got string "pin")',
        id="placement is scheduler or pinned",
    ),
    pytest.param(
        '{"model_name": "m", "node_selector": ["tier=gpu"]}',
        "entry 1 (m): node_selector must be a mapping of label to value (got a list)",
        id="node_selector is a mapping",
    ),
    pytest.param(
        '{"model_name": "m", "node_selector": {"tier": ["gpu"]}}',
        'entry 1 (m): node_selector "tier" must be a string (got a list)',
        id="a label value is a scalar",
    ),
    pytest.param(
        '{"model_name": "m", "min_replicas": 2147483648}',
        "entry 1 (m): min_replicas must be <= 2147483647",
        id="counts fit a 32-bit int",
    ),
    pytest.param(
        '{"model_name": "m", "node_selector": {"": "gpu"}}',
        'entry 1 (m): node_selector label keys must be non-empty strings (got string "")',
        id="label keys are non-empty",
    ),
    pytest.param(
        '{"model_name": "m", "min_replica": 1}',
        'entry 1 (m): unknown key "min_replica" (did you mean "min_replicas"?)',
        id="an unknown key suggests the closest known key",
    ),
    pytest.param(
        '{"Model_Name": "m"}',
        ["entry 1: model_name is required", 'entry 1: unknown key "Model_Name" (did you mean "model_name"?)'],
        id="keys are case-sensitive, with a suggestion",
    ),
    pytest.param(
        '{"model_name": "m", "gpu_count": 1}',
        'entry 1 (m): unknown key "gpu_count"',
        id="no suggestion when none is close",
    ),
    pytest.param(
        '"gpt-oss"', 'entry 1: expected a mapping with model_name (got string "gpt-oss")', id="an entry is a mapping"
    ),
]


@pytest.mark.parametrize("fmt", BOTH)
@pytest.mark.parametrize(("entry", "message"), INVALID)
def test_an_invalid_entry_is_reported_exactly(fmt: Format, entry: str, message: str | list[str]) -> None:
    expected = [message] if isinstance(message, str) else message
    assert problems(f"[{entry}]", fmt) == [f"s.{fmt}:1: {m}" for m in expected]


VALID: list[Any] = [
    pytest.param('"replicas": "all"', {"spread": True}, id="replicas all spreads"),
    pytest.param('"replicas": "ALL"', {"spread": True}, id="replicas all is case-insensitive"),
    pytest.param('"replicas": "  All "', {"spread": True}, id="replicas all ignores surrounding spaces"),
    pytest.param('"replicas": true', {"spread": True}, id="replicas true spreads"),
    pytest.param('"replicas": "auto"', {"spread": False}, id="replicas auto does not spread"),
    pytest.param('"replicas": " Auto"', {"spread": False}, id="replicas auto is case-insensitive"),
    pytest.param('"replicas": ""', {"spread": False}, id="an empty replicas does not spread"),
    pytest.param('"replicas": false', {"spread": False}, id="replicas false does not spread"),
    pytest.param('"replicas": null', {"spread": False}, id="replicas null does not spread"),
    pytest.param(
        '"node_selector": {"tier": null}', {"node_selector": {"tier": ""}}, id="a null label is empty"
    ),
    pytest.param('"spread_all": true', {"spread": True}, id="spread_all spreads"),
    pytest.param('"spread_all": true, "replicas": "auto"', {"spread": True}, id="spread_all is or-ed with replicas"),
    pytest.param(
        '"spread_all": false, "replicas": "all"', {"spread": True}, id="replicas all wins over spread_all false"
    ),
    pytest.param(
        '"replicas": "all", "min_replicas": 0, "max_replicas": 0', {"spread": True}, id="spread allows zero min and max"
    ),
    pytest.param('"min_replicas": 2, "max_replicas": 3', {"min_replicas": 2, "max_replicas": 3}, id="bounded"),
    pytest.param(
        '"min_replicas": 5, "max_replicas": 0', {"min_replicas": 5, "max_replicas": 0}, id="max 0 is unbounded"
    ),
    pytest.param('"min_replicas": null, "vars": null', {"min_replicas": 0, "vars": {}}, id="null means not given"),
    pytest.param('"node_selector": null', {"node_selector": {}}, id="a null selector means every node"),
    pytest.param('"node_selector": {}', {"node_selector": {}}, id="an empty selector means every node"),
    pytest.param('"route_policy": "prefix_cache"', {"route_policy": "prefix_cache"}, id="route_policy prefix_cache"),
    pytest.param('"route_policy": "round_robin"', {"route_policy": "round_robin"}, id="route_policy round_robin"),
    pytest.param('"route_policy": ""', {"route_policy": ""}, id="an empty route_policy is the default"),
    pytest.param('"balance_abs_threshold": 4', {"balance_abs_threshold": 4}, id="balance_abs_threshold"),
    pytest.param('"balance_rel_threshold": 2', {"balance_rel_threshold": 2.0}, id="an int is accepted for a float"),
    pytest.param('"balance_rel_threshold": 0', {"balance_rel_threshold": 0.0}, id="balance_rel_threshold 0"),
    pytest.param('"balance_rel_threshold": 1.5', {"balance_rel_threshold": 1.5}, id="balance_rel_threshold above 1"),
    pytest.param('"min_prefix_match": 1', {"min_prefix_match": 1.0}, id="min_prefix_match 1"),
    pytest.param('"min_prefix_match": 0.25', {"min_prefix_match": 0.25}, id="min_prefix_match inside 0..1"),
    pytest.param(
        '"scorer_weights": {"load": 0.5}', {"scorer_weights": {"load": 0.5}}, id="scorer_weights pass through"
    ),
    pytest.param(
        '"vars": {"image": "x", "resources": {"cpu": 500, "gpu": [0, 1]}}',
        {"vars": {"image": "x", "resources": {"cpu": 500, "gpu": [0, 1]}}},
        id="vars pass through, nested",
    ),
    pytest.param('"placement": "pinned"', {"placement": "pinned"}, id="placement pinned"),
    pytest.param('"placement": null', {"placement": None}, id="no placement means the config-wide default"),
]


@pytest.mark.parametrize("fmt", BOTH)
@pytest.mark.parametrize(("fields", "expected"), VALID)
def test_a_valid_entry_is_normalised(fmt: Format, fields: str, expected: dict[str, Any]) -> None:
    entry = only_entry(f'[{{"model_name": "m", {fields}}}]', fmt)
    contract = entry.contract()
    assert {key: contract[key] for key in expected} == expected


def test_defaults_of_a_bare_entry() -> None:
    entry = only_entry("- model_name: m")
    assert entry.contract() == {
        "model_name": "m",
        "node_selector": {},
        "spread": False,
        "min_replicas": 0,
        "max_replicas": 0,
        "route_policy": "",
        "balance_abs_threshold": 0,
        "balance_rel_threshold": 0.0,
        "min_prefix_match": 0.0,
        "scorer_weights": None,
        "vars": {},
        "placement": None,
    }
    assert entry.mode == "bounded"


YAML_SELECTORS = [
    pytest.param("{tier: 1}", {"tier": "1"}, id="an integer is its text"),
    pytest.param("{gpu: true}", {"gpu": "true"}, id="a boolean is its text"),
    pytest.param("{gpu: yes}", {"gpu": "yes"}, id="a YAML 1.1 boolean keeps its spelling"),
    pytest.param("{version: 1.10}", {"version": "1.10"}, id="a float keeps its digits"),
    pytest.param("{mask: 0x1f}", {"mask": "0x1f"}, id="a hex integer keeps its spelling"),
    pytest.param("{since: 2024-01-01}", {"since": "2024-01-01"}, id="a date is its text"),
    pytest.param("{1: a}", {"1": "a"}, id="an integer label key is its text"),
    pytest.param("{on: x}", {"on": "x"}, id="a boolean-looking label key is its text"),
    pytest.param("{tier: 'gpu'}", {"tier": "gpu"}, id="a quoted string is the string"),
    pytest.param("{tier: ''}", {"tier": ""}, id="a quoted empty string is an empty value"),
]


@pytest.mark.parametrize(("selector", "expected"), YAML_SELECTORS)
def test_yaml_selector_scalars_are_read_as_strings(selector: str, expected: dict[str, str]) -> None:
    assert only_entry(f"- model_name: m\n  node_selector: {selector}\n").node_selector == expected


JSON_SELECTORS = [
    pytest.param('{"tier": 1}', 'node_selector "tier" must be a string (got integer 1)', id="an integer"),
    pytest.param('{"gpu": true}', 'node_selector "gpu" must be a string (got boolean true)', id="a boolean"),
    pytest.param('{"v": 1.5}', 'node_selector "v" must be a string (got number 1.5)', id="a float"),
]


@pytest.mark.parametrize(("selector", "message"), JSON_SELECTORS)
def test_json_selector_values_must_be_strings(selector: str, message: str) -> None:
    assert problems(f'[{{"model_name": "m", "node_selector": {selector}}}]', "json") == [
        f"s.json:1: entry 1 (m): {message}"
    ]


def test_yaml_selector_with_a_duplicate_label_after_reading_as_text() -> None:
    assert problems("- model_name: m\n  node_selector: {1: a, '1': b}\n") == [
        's.yaml:2: entry 1 (m): node_selector: duplicate label "1"'
    ]


def test_vars_with_a_non_string_key_is_an_error() -> None:
    assert problems("- model_name: m\n  vars:\n    resources: {1: a}\n") == [
        "s.yaml:3: entry 1 (m): vars.resources: keys must be strings (got integer 1)"
    ]


def test_yaml_timestamps_in_vars_pass_through_as_text() -> None:
    assert only_entry("- model_name: m\n  vars: {since: 2024-01-01}\n").vars == {"since": "2024-01-01"}


def test_non_finite_numbers_are_refused() -> None:
    assert problems("- {model_name: m, balance_rel_threshold: .inf}") == [
        "s.yaml:1: entry 1 (m): balance_rel_threshold must be a number (got number .inf)"
    ]
