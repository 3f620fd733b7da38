"""Where the config comes from: --config, stdin, the env var pairs, and their precedence."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from modelsched.config.load import load_desired
from modelsched.errors import ConfigError, UsageError
from modelsched.model.entry import Desired

ROOT = Path(__file__).resolve().parents[2]


def names(desired: Desired) -> list[str]:
    return [e.model_name for e in desired.entries]


def inline(*models: str) -> str:
    return json.dumps([{"model_name": m} for m in models])


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def problems_of(config: str | None, env: dict[str, str], stdin: str | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_desired(config, env, io.StringIO(stdin) if stdin is not None else None)
    return caught.value.problems


def test_config_path_is_read_with_yaml_rules(tmp_path: Path) -> None:
    path = write(tmp_path, "sched.yaml", "- {model_name: a, node_selector: {tier: 1}}\n")
    desired = load_desired(path, {})
    assert desired.entries[0].node_selector == {"tier": "1"}
    assert desired.sources == (path,)


@pytest.mark.parametrize("name", ["sched.json", "SCHED.JSON"], ids=["json extension", "upper-case JSON extension"])
def test_a_json_extension_means_json_rules(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, '[{"model_name": "a", "node_selector": {"tier": 1}}]')
    assert problems_of(path, {}) == [f'{path}:1: entry 1 (a): node_selector "tier" must be a string (got integer 1)']


def test_config_beats_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "sched.yaml", "- model_name: from-file\n")
    assert names(load_desired(path, {"MODELSCHED_SCHEDULING": inline("from-env")})) == ["from-file"]


def test_a_missing_config_file_names_the_path(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.yaml")
    assert problems_of(path, {}) == [f"{path}: cannot read scheduling config: no such file"]


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    assert problems_of(str(tmp_path), {}) == [f"{tmp_path}: cannot read scheduling config: is a directory"]


def test_a_utf8_bom_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b'\xef\xbb\xbf[{"model_name": "a"}]')
    assert names(load_desired(str(path), {})) == ["a"]


STDIN = [
    pytest.param(
        '[{"model_name": "a", "node_selector": {"tier": 1}}]',
        ['<stdin>:1: entry 1 (a): node_selector "tier" must be a string (got integer 1)'],
        id="JSON on stdin is read with JSON rules",
    ),
    pytest.param(
        "- {model_name: a, node_selector: {tier: 1}, min_replicas: -1}\n",
        ["<stdin>:1: entry 1 (a): min_replicas must be >= 0"],
        id="anything else on stdin is read with YAML rules",
    ),
]


@pytest.mark.parametrize(("text", "expected"), STDIN)
def test_stdin_is_sniffed(text: str, expected: list[str]) -> None:
    assert problems_of("-", {}, text) == expected


def test_an_empty_stdin_is_an_empty_source() -> None:
    desired = load_desired("-", {}, io.StringIO(""))
    assert desired.entries == () and desired.sources == ("<stdin>",)


PRECEDENCE = [
    pytest.param({"MODELSCHED_SCHEDULING": inline("m")}, ["m"], id="MODELSCHED_SCHEDULING alone"),
    pytest.param({"MODELSCHED_SCHEDULING_CONFIG": "{file}"}, ["f"], id="MODELSCHED_SCHEDULING_CONFIG alone"),
    pytest.param({"LOCALAI_MODEL_SCHEDULING": inline("l")}, ["l"], id="LOCALAI_MODEL_SCHEDULING alone"),
    pytest.param({"LOCALAI_MODEL_SCHEDULING_CONFIG": "{file}"}, ["f"], id="LOCALAI_MODEL_SCHEDULING_CONFIG alone"),
    pytest.param(
        {"MODELSCHED_SCHEDULING": inline("m"), "MODELSCHED_SCHEDULING_CONFIG": "{file}"},
        ["m", "f"],
        id="within a pair inline JSON and the file are concatenated, JSON first",
    ),
    pytest.param(
        {"LOCALAI_MODEL_SCHEDULING": inline("l"), "LOCALAI_MODEL_SCHEDULING_CONFIG": "{file}"},
        ["l", "f"],
        id="the LocalAI pair concatenates too",
    ),
    pytest.param(
        {"MODELSCHED_SCHEDULING": inline("m"), "LOCALAI_MODEL_SCHEDULING": inline("l")},
        ["m"],
        id="the MODELSCHED pair beats the LocalAI pair",
    ),
    pytest.param(
        {"MODELSCHED_SCHEDULING_CONFIG": "{file}", "LOCALAI_MODEL_SCHEDULING": inline("l")},
        ["f"],
        id="the pairs are never mixed",
    ),
    pytest.param(
        {"MODELSCHED_SCHEDULING": inline("m"), "LOCALAI_MODEL_SCHEDULING": "not json"},
        ["m"],
        id="the unused pair is not even read",
    ),
    pytest.param(
        {"MODELSCHED_SCHEDULING": "", "MODELSCHED_SCHEDULING_CONFIG": "", "LOCALAI_MODEL_SCHEDULING": inline("l")},
        ["l"],
        id="an empty variable counts as unset",
    ),
    pytest.param({"MODELSCHED_SCHEDULING": "[]"}, [], id="an explicit empty list is valid"),
]


@pytest.mark.parametrize(("env", "expected"), PRECEDENCE)
def test_environment_precedence(tmp_path: Path, env: dict[str, str], expected: list[str]) -> None:
    file = write(tmp_path, "sched.yaml", "- model_name: f\n")
    env = {k: v.replace("{file}", file) for k, v in env.items()}
    assert names(load_desired(None, env)) == expected


def test_sources_list_every_source_used(tmp_path: Path) -> None:
    file = write(tmp_path, "sched.yaml", "[]\n")
    desired = load_desired(None, {"LOCALAI_MODEL_SCHEDULING": "[]", "LOCALAI_MODEL_SCHEDULING_CONFIG": file})
    assert desired.sources == ("env LOCALAI_MODEL_SCHEDULING", file)


def test_settings_come_from_the_env_file(tmp_path: Path) -> None:
    file = write(tmp_path, "sched.yaml", "nomad: {namespace: ai}\nmodels: [{model_name: f}]\n")
    desired = load_desired(None, {"MODELSCHED_SCHEDULING": inline("m"), "MODELSCHED_SCHEDULING_CONFIG": file})
    assert names(desired) == ["m", "f"] and desired.settings.nomad.namespace == "ai"


def test_no_source_at_all_is_a_usage_error_naming_the_option_and_the_variables() -> None:
    with pytest.raises(UsageError) as caught:
        load_desired(None, {"MODELSCHED_SCHEDULING": ""})
    assert str(caught.value) == (
        "no scheduling config: pass --config PATH (- for stdin) or set one of MODELSCHED_SCHEDULING / "
        "MODELSCHED_SCHEDULING_CONFIG / LOCALAI_MODEL_SCHEDULING / LOCALAI_MODEL_SCHEDULING_CONFIG"
    )
    assert not isinstance(caught.value, ConfigError)  # not "invalid scheduling config"


ENV_PROBLEMS = [
    pytest.param(
        {"LOCALAI_MODEL_SCHEDULING_CONFIG": "/nonexistent/sched.yaml"},
        [
            "/nonexistent/sched.yaml: cannot read scheduling config: no such file "
            "(path from LOCALAI_MODEL_SCHEDULING_CONFIG)"
        ],
        id="a missing env file names the variable",
    ),
    pytest.param(
        {"MODELSCHED_SCHEDULING": '{"models": []}'},
        ["env MODELSCHED_SCHEDULING: expected a JSON list of entries (got a mapping)"],
        id="inline JSON must be a list",
    ),
    pytest.param(
        {"MODELSCHED_SCHEDULING": "[{model_name: a}]"},
        [
            "env MODELSCHED_SCHEDULING: invalid JSON at line 1, column 3: "
            "Expecting property name enclosed in double quotes"
        ],
        id="inline JSON is JSON, not YAML",
    ),
    pytest.param(
        {"MODELSCHED_SCHEDULING": '[{"model_name": "a", "min_replicas": "1"}]'},
        ['env MODELSCHED_SCHEDULING: entry 1 (a): min_replicas must be an integer (got string "1")'],
        id="inline JSON errors have no line",
    ),
]


@pytest.mark.parametrize(("env", "expected"), ENV_PROBLEMS)
def test_environment_problems(env: dict[str, str], expected: list[str]) -> None:
    assert problems_of(None, env) == expected


def test_duplicates_and_problems_across_sources_are_reported_together(tmp_path: Path) -> None:
    file = write(tmp_path, "sched.yaml", "- model_name: a\n- {model_name: b, replicas: 2}\n")
    env = {"MODELSCHED_SCHEDULING": inline("a", "c"), "MODELSCHED_SCHEDULING_CONFIG": file}
    assert problems_of(None, env) == [
        f'{file}:1: entry 1 (a): duplicate model_name "a" (first at env MODELSCHED_SCHEDULING: entry 1)',
        f"{file}:2: entry 2 (b): invalid replicas value 2 "
        '(use min_replicas/max_replicas for a fixed count, or "all" to spread)',
    ]


def test_the_localai_example_loads_unchanged() -> None:
    desired = load_desired(None, {"LOCALAI_MODEL_SCHEDULING_CONFIG": str(ROOT / "examples/localai-scheduling.yaml")})
    by_name = desired.by_name()
    assert sorted(by_name) == ["gpt-oss", "nomic-embed-text", "whisper"]
    assert by_name["gpt-oss"].spread and by_name["gpt-oss"].node_selector == {"tier": "gpu"}
    assert by_name["nomic-embed-text"].spread and by_name["nomic-embed-text"].node_selector == {}
    assert (by_name["whisper"].min_replicas, by_name["whisper"].max_replicas) == (1, 0)


def test_the_modelsched_example_loads() -> None:
    desired = load_desired(str(ROOT / "examples/scheduling.yaml"), {})
    modes = {e.model_name: (e.mode, e.min_replicas, e.max_replicas) for e in desired.entries}
    assert modes == {
        "gpt-oss": ("spread", 0, 0),
        "nomic-embed-text": ("spread", 0, 0),
        "qwen-small": ("bounded", 2, 3),
        "whisper": ("bounded", 1, 0),
    }
    assert desired.settings.nomad.datacenters == ["dc1"]
    assert desired.by_name()["gpt-oss"].vars["image"]
