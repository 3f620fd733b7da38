"""Names a config may hold, and names that would collide: refused at validate time, located.

Model names, label keys and values and `vars` keys never hold control characters
(C0 including newline and tab, DEL, C1), bidirectional overrides or isolates, or lone
surrogates; error messages show the offending text escaped. Two models whose Nomad
job IDs coincide are an error naming both. Numbers in `vars` are finite. Entries
are numbered from 1.
"""

from __future__ import annotations

import json

import pytest

from modelsched.config.load import load_desired
from modelsched.model.jobname import job_id
from tests.config.loadhelp import load, problems

FORBIDDEN = [
    pytest.param("\n", "U+000A", id="a newline"),
    pytest.param("\t", "U+0009", id="a tab"),
    pytest.param("\x1b", "U+001B", id="an escape (terminal colour codes)"),
    pytest.param("\x00", "U+0000", id="a NUL"),
    pytest.param("\x7f", "U+007F", id="DEL"),
    pytest.param("\x85", "U+0085", id="a C1 control (next line)"),
    pytest.param("\x9b", "U+009B", id="a C1 control (CSI)"),
    pytest.param("\u202e", "U+202E", id="a right-to-left override"),
    pytest.param("\u202a", "U+202A", id="a left-to-right embedding"),
    pytest.param("\u2066", "U+2066", id="a left-to-right isolate"),
    pytest.param("\u2069", "U+2069", id="a pop directional isolate"),
    pytest.param("\ud800", "U+D800", id="a lone surrogate"),
]


def as_json(data: object) -> str:
    return json.dumps(data)  # ASCII with \\u escapes: the character reaches the reader unharmed


@pytest.mark.parametrize(("char", "code"), FORBIDDEN)
def test_a_model_name_with_a_control_character_is_refused(char: str, code: str) -> None:
    escaped = json.dumps("a" + char + "b")
    assert problems(as_json([{"model_name": "a" + char + "b"}]), "json") == [
        f"s.json:1: entry 1: model_name {escaped} contains the control character {code}"
    ]


@pytest.mark.parametrize(("char", "code"), FORBIDDEN)
def test_a_label_key_with_a_control_character_is_refused(char: str, code: str) -> None:
    got = problems(as_json([{"model_name": "m", "node_selector": {"ti" + char + "er": "gpu"}}]), "json")
    assert got == [f"s.json:1: entry 1 (m): node_selector label {json.dumps('ti' + char + 'er')} contains the "
                   f"control character {code}"]


@pytest.mark.parametrize(("char", "code"), FORBIDDEN)
def test_a_label_value_with_a_control_character_is_refused(char: str, code: str) -> None:
    got = problems(as_json([{"model_name": "m", "node_selector": {"tier": "g" + char}}]), "json")
    assert got == [f's.json:1: entry 1 (m): node_selector "tier": the value {json.dumps("g" + char)} contains the '
                   f"control character {code}"]


@pytest.mark.parametrize(("char", "code"), FORBIDDEN)
def test_a_vars_key_with_a_control_character_is_refused_even_when_nested(char: str, code: str) -> None:
    got = problems(as_json([{"model_name": "m", "vars": {"env": {"K" + char: "v"}}}]), "json")
    assert got == [f"s.json:1: entry 1 (m): vars.env: key {json.dumps('K' + char)} contains the "
                   f"control character {code}"]


def test_yaml_escapes_reach_the_same_rule() -> None:
    assert problems('- model_name: "gpt\\e[31m"\n') == [
        's.yaml:1: entry 1: model_name "gpt\\u001b[31m" contains the control character U+001B'
    ]


def test_messages_never_carry_the_character_itself() -> None:
    text = as_json(
        [{"model_name": "m\u202e", "node_selector": {"k\x1b": "v"}}, {"model_name": "x", "vars": {"\x9b": 1}}]
    )
    for message in problems(text, "json"):
        assert not any(ch in message for ch in "\u202e\x1b\x9b"), message


ACCEPTED = [
    pytest.param("llama3:8b", id="a colon"),
    pytest.param("org/model", id="a slash"),
    pytest.param("modèle-été", id="accented letters"),
    pytest.param("模型", id="CJK"),
    pytest.param("a b", id="an inner space"),
]


@pytest.mark.parametrize("name", ACCEPTED)
def test_ordinary_names_stay_valid(name: str) -> None:
    desired = load(as_json([{"model_name": name, "node_selector": {"zone": name}, "vars": {name: 1}}]), "json")
    assert [e.model_name for e in desired.entries] == [name]


def test_a_vars_value_may_hold_newlines_and_tabs() -> None:
    desired = load('- {model_name: m, vars: {args: "a\\n\\tb"}}\n')
    assert desired.entries[0].vars == {"args": "a\n\tb"}


def test_a_name_longer_than_512_characters_is_refused() -> None:
    assert problems(as_json([{"model_name": "m" * 513}]), "json") == [
        f'{"s.json:1: entry 1: model_name " + json.dumps("m" * 513)} is longer than 512 characters'
    ]
    assert load(as_json([{"model_name": "m" * 512}]), "json").entries


COLLISIONS = [
    pytest.param(
        "- model_name: a/b\n- model_name: a-b-c14cddc0\n",
        's.yaml:2: entry 2 (a-b-c14cddc0): models "a/b" (at s.yaml:1: entry 1) and "a-b-c14cddc0" would share '
        'the Nomad job ID "modelsched-a-b-c14cddc0"; rename one of them',
        id="a model named like another's sanitised job ID",
    ),
    pytest.param(
        "nomad: {job_name_prefix: ''}\nmodels:\n  - model_name: x:y\n  - model_name: x-y-1274e286\n",
        "s.yaml:4: entry 2 (x-y-1274e286): models \"x:y\" (at s.yaml:3: entry 1) and \"x-y-1274e286\" would share "
        "the Nomad job ID \"x-y-1274e286\"; rename one of them",
        id="with an empty prefix too",
    ),
    pytest.param("- model_name: a/b\n- model_name: a:b\n", None, id="two names sanitised alike differ by their hash"),
]


@pytest.mark.parametrize(("text", "expected"), COLLISIONS)
def test_models_whose_job_ids_coincide(text: str, expected: str | None) -> None:
    if expected is None:
        assert len(load(text).entries) == 2
    else:
        assert problems(text) == [expected]


def test_a_collision_with_the_configured_prefix_names_both_models() -> None:
    clash = job_id("ai-", "a b")[len("ai-"):]
    text = f"nomad: {{job_name_prefix: ai-}}\nmodels:\n  - model_name: a b\n  - model_name: {clash}\n"
    assert problems(text) == [
        f's.yaml:4: entry 2 ({clash}): models "a b" (at s.yaml:3: entry 1) and "{clash}" would share the '
        f'Nomad job ID "ai-{clash}"; rename one of them'
    ]


def test_a_collision_across_sources_names_where_each_model_is(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "sched.yaml"
    path.write_text("- model_name: a-b-c14cddc0\n")
    env = {"MODELSCHED_SCHEDULING": '[{"model_name": "a/b"}]', "MODELSCHED_SCHEDULING_CONFIG": str(path)}
    with pytest.raises(Exception) as caught:
        load_desired(None, env)
    assert str(caught.value).endswith(
        f'{path}:1: entry 1 (a-b-c14cddc0): models "a/b" (at env MODELSCHED_SCHEDULING: entry 1) and '
        '"a-b-c14cddc0" would share the Nomad job ID "modelsched-a-b-c14cddc0"; rename one of them'
    )


def test_duplicate_names_are_reported_as_duplicates_not_as_collisions() -> None:
    assert problems("- model_name: a/b\n- model_name: a/b\n") == [
        's.yaml:2: entry 2 (a/b): duplicate model_name "a/b" (first at s.yaml:1: entry 1)'
    ]


@pytest.mark.parametrize("prefix", ["x/", "../", "a?", "#", "%2f", "a b"])
def test_an_unsafe_job_name_prefix_is_refused_at_its_line(prefix: str) -> None:
    text = f"nomad:\n  job_name_prefix: {json.dumps(prefix)}\nmodels: []\n"
    assert problems(text) == [
        f"s.yaml:2: nomad.job_name_prefix {json.dumps(prefix)}: use letters, digits, '.', '_' and '-' only"
    ]


NON_FINITE = [
    pytest.param("yaml", "- {model_name: m, vars: {x: .nan}}\n", "vars.x", "number .nan", id="YAML .nan"),
    pytest.param("yaml", "- {model_name: m, vars: {x: .inf}}\n", "vars.x", "number .inf", id="YAML .inf"),
    pytest.param(
        "yaml", "- {model_name: m, vars: {r: [1, {cpu: -.Inf}]}}\n", "vars.r[1].cpu", "number -.Inf",
        id="nested in a list in YAML",
    ),
    pytest.param(
        "json", '[{"model_name": "m", "vars": {"x": {"y": 1e999}}}]', "vars.x.y", "number Infinity",
        id="a JSON number too large for a float",
    ),
    pytest.param(
        "yaml", "- {model_name: m, scorer_weights: {w: .nan}}\n", "scorer_weights.w", "number .nan",
        id="scorer_weights too",
    ),
]


@pytest.mark.parametrize(("fmt", "text", "path", "got"), NON_FINITE)
def test_non_finite_numbers_in_vars_are_refused(fmt: str, text: str, path: str, got: str) -> None:
    assert problems(text, fmt) == [f"s.{fmt}:1: entry 1 (m): {path}: numbers must be finite (got {got})"]  # type: ignore[arg-type]


def test_json_nan_is_not_json() -> None:
    assert problems('[{"model_name": "m", "vars": {"x": NaN}}]', "json") == [
        "s.json:1:36: NaN is not a JSON number"
    ]


def test_entries_are_numbered_from_one() -> None:
    assert problems("- model_name: a\n- model_name: b\n  min_replicas: -1\n") == [
        "s.yaml:3: entry 2 (b): min_replicas must be >= 0"
    ]


def test_a_vars_value_with_a_lone_surrogate_is_refused() -> None:
    assert problems(as_json([{"model_name": "m", "vars": {"env": {"K": "a\ud800"}}}]), "json") == [
        "s.json:1: entry 1 (m): vars.env.K: holds the lone surrogate U+D800, which is not text"
    ]
