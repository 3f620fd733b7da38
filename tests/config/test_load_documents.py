"""Document shapes, locations, duplicates, YAML/JSON reader rules and tool settings."""

from __future__ import annotations

import textwrap

import pytest

from modelsched.config.load import Format, load_text
from modelsched.errors import ConfigError
from modelsched.model.entry import NomadSettings
from tests.config.loadhelp import load, problems


def doc(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


EMPTY = [
    pytest.param("", "yaml", id="an empty YAML file"),
    pytest.param("# nothing scheduled yet\n", "yaml", id="a YAML file with only a comment"),
    pytest.param("---\n", "yaml", id="an empty YAML document"),
    pytest.param("~\n", "yaml", id="a null YAML document"),
    pytest.param("[]\n", "yaml", id="an empty YAML list"),
    pytest.param("models: []\n", "yaml", id="a mapping with an empty models list"),
    pytest.param("models:\n", "yaml", id="a mapping with null models"),
    pytest.param("", "json", id="an empty JSON file"),
    pytest.param("[]", "json", id="an empty JSON list"),
    pytest.param('{"models": []}', "json", id="a JSON mapping with an empty models list"),
]


@pytest.mark.parametrize(("text", "fmt"), EMPTY)
def test_an_explicit_empty_source_is_valid(text: str, fmt: Format) -> None:
    desired = load(text, fmt)
    assert desired.entries == ()
    assert desired.sources == (f"s.{fmt}",)


def test_a_bare_list_and_a_models_mapping_give_the_same_entries() -> None:
    bare = load("- {model_name: a, replicas: all}\n- {model_name: b, min_replicas: 1}\n")
    mapping = load("models:\n  - {model_name: a, replicas: all}\n  - {model_name: b, min_replicas: 1}\n")
    assert [e.contract() for e in bare.entries] == [e.contract() for e in mapping.entries]


BAD_SHAPES = [
    pytest.param(
        "hello\n",
        ['s.yaml:1: expected a list of entries or a mapping with models: (got string "hello")'],
        id="a scalar document",
    ),
    pytest.param(
        "modles: []\n",
        [
            's.yaml:1: "models" is required (the list of entries; use [] for none)',
            's.yaml:1: unknown key "modles" (did you mean "models"?)',
        ],
        id="a misspelt models key",
    ),
    pytest.param(
        "models: []\nnomda: {}\n",
        ['s.yaml:2: unknown key "nomda" (did you mean "nomad"?)'],
        id="a misspelt settings key",
    ),
    pytest.param("models: []\ncolour: red\n", ['s.yaml:2: unknown key "colour"'], id="an unknown top-level key"),
    pytest.param(
        "models: gpt-oss\n",
        ['s.yaml:1: models must be a list of entries (got string "gpt-oss")'],
        id="models is a list",
    ),
    pytest.param(
        "model_name: gpt-oss\nreplicas: all\n",
        [
            's.yaml:1: "models" is required (the list of entries; use [] for none)',
            "s.yaml:1: this looks like a single entry; write entries as a list (- model_name: ...)",
        ],
        id="a single entry without the list dash",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_SHAPES)
def test_a_document_of_the_wrong_shape_is_an_error(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_errors_name_source_line_entry_index_model_and_field() -> None:
    text = doc("""
        models:
          - model_name: gpt-oss
            replicas: all
          - model_name: whisper
            node_selector: {tier: cpu}
            min_replicas: 3
            max_replicas: 2
          - node_selector: {tier: gpu}
            min_replica: 1
        """)
    assert problems(text, source="examples/bad.yaml") == [
        "examples/bad.yaml:4: entry 2 (whisper): min_replicas must be <= max_replicas",
        "examples/bad.yaml:8: entry 3: model_name is required",
        'examples/bad.yaml:9: entry 3: unknown key "min_replica" (did you mean "min_replicas"?)',
    ]


def test_json_errors_carry_the_line_of_the_entry() -> None:
    text = '[\n  {"model_name": "a"},\n  {"model_name": "b",\n   "min_replicas": -1}\n]\n'
    assert problems(text, "json") == ["s.json:3: entry 2 (b): min_replicas must be >= 0"]


def test_all_problems_are_reported_at_once() -> None:
    text = doc("""
        - {model_name: a, replicas: 3}
        - {model_name: b, min_replicas: "2", route_policy: fast}
        - {model_name: a}
        - {model_nam: c}
        """)
    with pytest.raises(ConfigError) as caught:
        load_text(text, "s.yaml", "yaml")
    assert len(caught.value.problems) == 6
    assert str(caught.value).startswith("invalid scheduling config (6 problems):\n  s.yaml:1: entry 1 (a): ")


DUPLICATE_KEYS = [
    pytest.param(
        "- model_name: a\n  replicas: all\n  replicas: auto\n",
        "yaml",
        ['s.yaml:3: duplicate key "replicas" (first on line 2)'],
        id="in a YAML entry",
    ),
    pytest.param(
        "- model_name: a\n  node_selector:\n    tier: gpu\n    tier: cpu\n",
        "yaml",
        ['s.yaml:4: duplicate key "tier" (first on line 3)'],
        id="in a YAML selector",
    ),
    pytest.param(
        "models: []\nmodels: []\n",
        "yaml",
        ['s.yaml:2: duplicate key "models" (first on line 1)'],
        id="at the YAML top level",
    ),
    pytest.param(
        '[{"model_name": "a",\n  "replicas": "all", "replicas": "auto"}]',
        "json",
        ['s.json:1: duplicate key "replicas"'],
        id="in a JSON object",
    ),
]


@pytest.mark.parametrize(("text", "fmt", "expected"), DUPLICATE_KEYS)
def test_duplicate_keys_are_an_error(text: str, fmt: Format, expected: list[str]) -> None:
    assert problems(text, fmt) == expected


def test_a_duplicate_model_name_names_both_places() -> None:
    assert problems("- model_name: a\n- model_name: b\n- model_name: a\n") == [
        's.yaml:3: entry 3 (a): duplicate model_name "a" (first at s.yaml:1: entry 1)'
    ]


def test_a_duplicate_model_name_is_found_even_when_an_entry_has_other_problems() -> None:
    assert problems("- {model_name: a, min_replicas: -1}\n- {model_name: a}\n") == [
        "s.yaml:1: entry 1 (a): min_replicas must be >= 0",
        's.yaml:2: entry 2 (a): duplicate model_name "a" (first at s.yaml:1: entry 1)',
    ]


def test_yaml_anchors_aliases_and_merge_keys_work() -> None:
    text = doc("""
        - &gpu-model
          model_name: gpt-oss
          node_selector: &gpu {tier: gpu}
          replicas: all
        - <<: *gpu-model
          model_name: llama
        - model_name: whisper
          node_selector: *gpu
        """)
    entries = load(text).by_name()
    assert entries["llama"].spread and entries["llama"].node_selector == {"tier": "gpu"}
    assert entries["whisper"].node_selector == {"tier": "gpu"}
    assert entries["llama"].where is not None and entries["llama"].where.line == 5


YAML_REFUSALS = [
    pytest.param(
        "- model_name: a\n---\n- model_name: b\n",
        "s.yaml:2:1: invalid YAML: expected a single document in the stream, but found another document",
        id="several documents",
    ),
    pytest.param(
        "- {model_name: [a\n",
        "s.yaml:2:1: invalid YAML: while parsing a flow sequence, did not find expected ',' or ']'",
        id="a syntax error gives the parser's line and column",
    ),
    pytest.param("- model_name: !shout a\n", "s.yaml:1: unsupported YAML tag !shout", id="an unknown tag"),
    pytest.param(
        "- model_name: !!python/name:os.system a\n",
        "s.yaml:1: unsupported YAML tag tag:yaml.org,2002:python/name:os.system",
        id="a python tag",
    ),
    pytest.param("- &e {model_name: a, vars: {self: *e}}\n", "s.yaml:1: recursive YAML alias", id="a recursive alias"),
    pytest.param(
        "- {model_name: a, node_selector: *nope}\n",
        "s.yaml:1:34: invalid YAML: found undefined alias",
        id="an undefined alias",
    ),
]


@pytest.mark.parametrize(("text", "expected"), YAML_REFUSALS)
def test_yaml_the_reader_refuses(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_a_json_syntax_error_gives_json_line_and_column() -> None:
    assert problems('[\n  {"model_name": }\n]', "json") == ["s.json:2:18: invalid JSON: Expecting value"]


def test_a_json_file_is_not_read_with_yaml_rules() -> None:
    assert problems("- model_name: a\n", "json") == ["s.json:1:1: invalid JSON: Expecting value"]


def test_nomad_settings_are_read_from_the_mapping() -> None:
    text = doc("""
        nomad:
          datacenters: [dc1, dc2]
          namespace: ai
          placement: pinned
        models: []
        """)
    assert load(text).settings.nomad == NomadSettings(datacenters=["dc1", "dc2"], namespace="ai", placement="pinned")


def test_without_settings_the_defaults_apply() -> None:
    assert load("- model_name: a\n").settings.nomad == NomadSettings()


BAD_SETTINGS = [
    pytest.param(
        "nomad:\n  datacenter: [dc1]\n",
        ['s.yaml:2: nomad: unknown key "datacenter" (did you mean "datacenters"?)'],
        id="an unknown key",
    ),
    pytest.param(
        "nomad:\n  namespace: 3\n",
        ["s.yaml:2: nomad.namespace: input should be a valid string (got 3)"],
        id="a wrong type",
    ),
    pytest.param(
        "nomad:\n  datacenters: [dc1, 2]\n",
        ["s.yaml:2: nomad.datacenters[1]: input should be a valid string (got 2)"],
        id="a wrong list item",
    ),
    pytest.param(
        "nomad:\n  placement: anywhere\n",
        ["s.yaml:2: nomad.placement: input should be 'scheduler' or 'pinned' (got \"anywhere\")"],
        id="a wrong choice",
    ),
    pytest.param("nomad: [dc1]\n", ["s.yaml:1: nomad must be a mapping (got a list)"], id="not a mapping"),
]


@pytest.mark.parametrize(("settings", "expected"), BAD_SETTINGS)
def test_invalid_nomad_settings_are_located(settings: str, expected: list[str]) -> None:
    assert problems(settings + "models: []\n") == expected
