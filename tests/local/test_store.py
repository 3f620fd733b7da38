"""The new state text after apply: exactly which bytes change (only the replicas) and
which survive (comments, layout, key order, line endings), per layout and format."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from modelsched.drivers.local import store, yamlstate


def doc_of(text: str) -> dict[str, Any]:
    return yamlstate.parse(text, "s.yaml")


def render_yaml(text: str, replicas: list[tuple[str, str]]) -> str:
    return store.render("yaml", text, doc_of(text), [{"model": m, "node": n} for m, n in replicas])


R = [("llm", "g1"), ("asr", "g2")]
NEW = "  - {model: llm, node: g1}\n  - {model: asr, node: g2}\n"
FLOW = "[{model: llm, node: g1}, {model: asr, node: g2}]"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "# top\nnodes:\n  - name: g1   # first\nreplicas:\n  - {model: old, node: g1}\n",
            "# top\nnodes:\n  - name: g1   # first\nreplicas:\n" + NEW,
        ),
        (
            "replicas:\n  - {model: old, node: g1}\n\n# about nodes\nnodes:\n  - name: g1\n",
            "replicas:\n" + NEW + "\n# about nodes\nnodes:\n  - name: g1\n",
        ),
        (
            "nodes:\n  - name: g1\n# the end\n",
            "nodes:\n  - name: g1\n# the end\nreplicas:\n  - {model: llm, node: g1}\n  - {model: asr, node: g2}\n",
        ),
        (
            "nodes:\n  - name: g1",
            "nodes:\n  - name: g1\nreplicas:\n  - {model: llm, node: g1}\n  - {model: asr, node: g2}\n",
        ),
        (
            "  nodes:\n    - name: g1  # kept\n  replicas: []\n",
            "  nodes:\n    - name: g1  # kept\n  replicas:\n" + NEW.replace("  -", "    -"),
        ),
        (
            "# lab\n{nodes: [{name: g1}],  # one\n replicas: [{model: x, node: g1}]}  # end\n",
            "# lab\n{nodes: [{name: g1}],  # one\n replicas: " + FLOW + "}  # end\n",
        ),
        (
            "# lab\n{nodes: [{name: g1}]}  # end\n",
            "# lab\n{nodes: [{name: g1}], replicas: [{model: llm, node: g1}, {model: asr, node: g2}]}  # end\n",
        ),
        (
            '{"nodes": [{"name": "g1"}], "replicas": []}\n',
            '{"nodes": [{"name": "g1"}], "replicas": [{model: llm, node: g1}, {model: asr, node: g2}]}\n',
        ),
    ],
    ids=[
        "a block root: only the replicas block changes",
        "replicas first: the comment before the next key stays with it",
        "no replicas key: the block is appended after the last line",
        "no replicas key and no final newline: a newline comes first",
        "indented keys: the block is indented as they are",
        "a flow root: the replicas value is replaced, comments stay",
        "a flow root without replicas: they are added before the closing brace",
        "JSON syntax in a .yaml file: spliced as a flow root",
    ],
)
def test_yaml_apply_rewrites_only_the_replicas(before: str, after: str) -> None:
    assert render_yaml(before, R) == after


def test_no_replicas_are_written_as_an_empty_list_in_place() -> None:
    text = "nodes:\n  - name: g1\nreplicas:\n  - {model: old, node: g1}\n# end\n"
    assert render_yaml(text, []) == "nodes:\n  - name: g1\nreplicas: []\n# end\n"
    assert render_yaml("{nodes: [], replicas: [{model: a, node: b}]}\n", []) == "{nodes: [], replicas: []}\n"


def test_an_empty_flow_root_gets_its_replicas_without_a_leading_comma() -> None:
    assert render_yaml("{}\n", R) == "{replicas: [{model: llm, node: g1}, {model: asr, node: g2}]}\n"


@pytest.mark.parametrize(
    "text",
    ["", "# nothing yet\n", "nodes: [{name: g1}]\n...\n", "--- {nodes: [{name: g1}]}\n...\n"],
    ids=["an empty file", "only a comment", "an explicit end of document", "a flow root ended explicitly"],
)
def test_what_cannot_be_spliced_is_written_whole_and_still_reads_back_exactly(text: str) -> None:
    doc = doc_of(text)
    new = store.render("yaml", text, doc, [{"model": "llm", "node": "g1"}])
    assert yaml.load(new, Loader=yaml.BaseLoader) == {**doc, "replicas": [{"model": "llm", "node": "g1"}]}


def test_a_layout_that_does_not_splice_is_written_whole_as_yaml_dump_writes_it() -> None:
    text = "nodes:\n  - {name: g1, labels: {t: x}}  # lost\n...\n"  # an explicit end of document
    new = store.render("yaml", text, doc_of(text), [{"model": "m", "node": "g1"}])
    assert new == "nodes:\n- name: g1\n  labels:\n    t: x\nreplicas:\n- model: m\n  node: g1\n"


names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=12
)


@settings(max_examples=300, deadline=None)
@given(names, names)
def test_each_replica_line_is_what_yaml_safe_dump_writes(model: str, node: str) -> None:
    expected = yaml.safe_dump({"model": model, "node": node}, default_flow_style=True, width=10**6).strip()
    assert store.replica_flow(model, node) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(names, names), max_size=4))
def test_any_names_survive_a_splice_and_read_back(replicas: list[tuple[str, str]]) -> None:
    text = "# lab\nnodes:\n  - name: g1\nreplicas: []\n"
    new = render_yaml(text, replicas)
    assert new.startswith("# lab\nnodes:\n  - name: g1\n")
    assert yaml.load(new, Loader=yaml.BaseLoader)["replicas"] in ([{"model": m, "node": n} for m, n in replicas], "")


def test_json_is_written_whole_indented_by_two_with_its_other_keys_in_order() -> None:
    doc = {"replicas": [{"model": "old", "node": "g1"}], "nodes": [{"name": "g1", "slots": 2, "eligible": False}]}
    new = store.render("json", '{"replicas": [], "nodes": []}', doc, [{"model": "llama3:8b", "node": "g1"}])
    assert new == (
        '{\n  "replicas": [\n    {\n      "model": "llama3:8b",\n      "node": "g1"\n    }\n  ],\n'
        '  "nodes": [\n    {\n      "name": "g1",\n      "slots": 2,\n      "eligible": false\n    }\n  ]\n}\n'
    )
    assert json.loads(new)["replicas"] == [{"model": "llama3:8b", "node": "g1"}]


def test_json_keeps_non_ascii_names_as_they_are() -> None:
    new = store.render("json", "{}", {}, [{"model": "modèle", "node": "nœud"}])
    assert '"model": "modèle"' in new and '"node": "nœud"' in new


@pytest.mark.parametrize(
    ("text", "crlf"),
    [
        ("a\r\nb\r\n", True),
        ("a\r\nb", True),
        ("a\nb\r\n", False),
        ("a\nb\n", False),
        ("ab", False),
        ("a\rb\r", False),
    ],
    ids=["all CRLF", "CRLF without a final break", "mixed", "all LF", "one line", "old Mac CR"],
)
def test_a_file_uses_crlf_only_when_every_line_break_is_crlf(text: str, crlf: bool) -> None:
    assert store.uses_crlf(text) is crlf


def test_a_crlf_yaml_state_is_spliced_and_keeps_crlf_everywhere() -> None:
    text = "# lab\r\nnodes:\r\n  - name: g1\r\nreplicas: []\r\n# end\r\n"
    doc = doc_of(text)
    new = store.render("yaml", text, doc, [{"model": "m", "node": "g1"}])
    assert new == "# lab\r\nnodes:\r\n  - name: g1\r\nreplicas:\r\n  - {model: m, node: g1}\r\n# end\r\n"


def test_a_mixed_line_ending_file_is_left_with_its_own_line_breaks() -> None:
    text = "nodes:\r\n  - name: g1\nreplicas: []\n"
    new = store.render("yaml", text, doc_of(text), [{"model": "m", "node": "g1"}])
    assert new == "nodes:\r\n  - name: g1\nreplicas:\n  - {model: m, node: g1}\n"


def test_non_ascii_names_in_a_replica_line_are_escaped_as_yaml_safe_dump_escapes_them() -> None:
    assert store.replica_flow("modèle", "nœud") == '{model: "mod\\xE8le", node: "n\\u0153ud"}'


def test_a_whole_rewrite_writes_non_ascii_as_it_is() -> None:
    text = "nodes:\n  - {name: g1, labels: {zone: zürich}}\n...\n"
    new = store.render("yaml", text, doc_of(text), [{"model": "m", "node": "g1"}])
    assert new == "nodes:\n- name: g1\n  labels:\n    zone: zürich\nreplicas:\n- model: m\n  node: g1\n"
