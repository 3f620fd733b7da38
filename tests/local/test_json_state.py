"""The JSON state reader: msgspec's typed fast path gives exactly what the standard
library path gives (the same state, or the same located error), refuses duplicate
keys, and a colon in a value never sends it down the slow path.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelsched.drivers.local import jsonstate
from modelsched.errors import StateError

Outcome = tuple[str, object]


def exact(text: str) -> Outcome:
    try:
        return ("state", jsonstate.read_exact(text.encode(), "s.json")[1])
    except StateError as exc:
        return ("error", str(exc))


def reader(text: str) -> Outcome:
    try:
        return ("state", jsonstate.read(text.encode(), "s.json"))
    except StateError as exc:
        return ("error", str(exc))


def _obj(pairs: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f'"{k}": {v}' for k, v in pairs) + "}"


scalars = st.sampled_from(
    ['"m"', '"n1"', '"n2"', '""', '" "', "1", "0", "-3", "true", "null", '"a:b"', '"a\\":b"', "{}", "[]", '"\\u0007"']
)
replica_ok = st.builds(
    lambda m, n: _obj([("model", m), ("node", n)]),
    st.sampled_from(['"m"', '"llama3:8b"', '"k"']),
    st.sampled_from(['"n1"', '"n2"', '"n3"', '"n\\u0031"']),
)
loose = st.lists(
    st.tuples(st.sampled_from(["model", "node", "name", "labels", "status", "eligible", "slots", "x"]), scalars),
    max_size=4,
).map(_obj)
labels = st.sampled_from(
    ['{"t": "g"}', '{"model": "m", "node": "n1"}', "{}", '{"t": 1}', '{"t": "g", "t": "c"}', '{"t": "a:b"}', '""']
)
node_field = st.tuples(
    st.sampled_from(["name", "name", "labels", "status", "eligible", "slots"]),
    st.sampled_from(['"n1"', '"n2"', '"n3"', '" "', '"down"', '"ready"', '"bogus"', "false", '"yes"', "3", "0", '"2"'])
    | labels,
)
node = st.lists(node_field, max_size=4).map(_obj) | st.just('{"name": "n1"}') | loose


def _list(items: st.SearchStrategy[str], size: int) -> st.SearchStrategy[str]:
    return st.lists(items, max_size=size).map(lambda xs: "[" + ", ".join(xs) + "]")


members = st.one_of(
    st.tuples(st.just("nodes"), _list(node, 4) | st.sampled_from(["null", "{}", "3", '""'])),
    st.tuples(st.just("replicas"), _list(replica_ok | loose, 5) | st.sampled_from(["null", "{}", '""'])),
    st.tuples(st.just("x"), scalars),
)
node_ok = st.sampled_from(['{"name": "n1"}', '{"name": "n2", "labels": {"t": "g"}, "slots": 2}'])
well_formed = st.tuples(_list(node_ok | node, 4), _list(replica_ok | replica_ok | loose, 5)).map(
    lambda nr: _obj([("nodes", nr[0]), ("replicas", nr[1])])
)
texts = well_formed | st.lists(members, min_size=1, max_size=3).map(_obj) | st.sampled_from(["[]", "null", '"x"', "{"])


@settings(max_examples=500, deadline=None)
@given(texts, st.booleans(), st.booleans())
def test_the_reader_gives_what_the_exact_path_gives_for_any_text(text: str, truncate: bool, spaced: bool) -> None:
    if spaced:
        text = text.replace('": ', '"\n  :  ')
    if truncate:
        text = text[:-1]
    assert reader(text) == exact(text)


def test_a_colon_in_every_value_never_costs_a_second_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = {
        "nodes": [{"name": "node:1", "labels": {"a:b": "c:d"}}],
        "replicas": [{"model": "llama3:8b", "node": "node:1"}] * 3,
    }

    def no_second_parse(*_: Any, **__: Any) -> Any:
        raise AssertionError("parsed a second time")

    monkeypatch.setattr(jsonstate, "read_exact", no_second_parse)
    monkeypatch.setattr(jsonstate, "parse", no_second_parse)
    nodes, replicas, _ = jsonstate.read(json.dumps(doc, indent=2).encode(), "s.json")
    assert replicas == {"llama3:8b": ["node:1"] * 3}
    assert nodes[0].labels == {"a:b": "c:d"}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"nodes": [], "replicas": [], "replicas": [{"model": "m", "node": "n1"}]}', "replicas"),
        ('{"nodes": [{"name": "n1", "name": "n2"}]}', "name"),
        ('{"nodes": [{"name": "n1", "labels": {"t": "g", "t": "c"}}]}', "t"),
        ('{"nodes": [{"name": "n1"}], "replicas": [{"model": "a", "model": "b", "node": "n1"}]}', "model"),
        ('{"nodes": [{"name": "n1"}], "replicas": [{"model" : "a", "node": "n1", "node"\n:"n1"}]}', "node"),
        ('{"nodes": [{"name": "n1", "labels": {"x": "a\\":", "x": "b"}}]}', "x"),
    ],
    ids=[
        "at the root",
        "in a node",
        "in a node's labels",
        "in a replica",
        "spaced from its colon",
        "next to a value holding a quote and a colon",
    ],
)
def test_duplicate_keys_are_refused_wherever_they_are(text: str, key: str) -> None:
    with pytest.raises(StateError, match=f"cluster state s.json: duplicate key '{key}'"):
        jsonstate.read(text.encode(), "s.json")


def test_one_object_per_node_name_shared_by_the_node_and_its_replicas() -> None:
    text = json.dumps(
        {
            "nodes": [{"name": "n1"}, {"name": "n2"}],
            "replicas": [{"model": "m", "node": "n2"}, {"model": "m", "node": "n1"}, {"model": "k", "node": "n2"}],
        }
    )
    nodes, replicas, _ = jsonstate.read(text.encode(), "s.json")
    assert replicas == {"m": ["n2", "n1"], "k": ["n2"]}
    assert nodes[1].id is replicas["m"][0] is replicas["k"][0]


@pytest.mark.parametrize(
    ("value", "slots"),
    [("1", 1), ("4", 4), ("2147483647", 2147483647)],
    ids=["one", "four", "the largest"],
)
def test_slots_is_read_as_the_nodes_slots(value: str, slots: int) -> None:
    nodes, _, _ = jsonstate.read(f'{{"nodes": [{{"name": "n", "slots": {value}}}]}}'.encode(), "s.json")
    assert nodes[0].slots == slots


def test_a_node_without_slots_has_one() -> None:
    nodes, _, _ = jsonstate.read(b'{"nodes": [{"name": "n"}]}', "s.json")
    assert nodes[0].slots == 1


@pytest.mark.parametrize(
    "value",
    ["0", "-1", "true", '"2"', "1.5", "2147483648", "null"],
    ids=["zero", "negative", "a boolean", "a string", "a fraction", "above 2^31-1", "null"],
)
def test_slots_that_are_not_a_whole_number_from_one_are_refused_with_the_node_index(value: str) -> None:
    text = f'{{"nodes": [{{"name": "a"}}, {{"name": "n", "slots": {value}}}]}}'
    with pytest.raises(
        StateError, match=r"cluster state s.json: nodes\[1\].slots: slots must be a whole number from 1"
    ):
        jsonstate.read(text.encode(), "s.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"nodes": [', "invalid JSON at line 1, column 12"),
        ('{"nodes": [{"name": 3}]}', "nodes[0]: name must be a non-empty string, got 3"),
        ('{"nodes": [{"name": "n", "eligible": "maybe"}]}', "nodes[0].eligible: eligible must be true or false"),
        ('{"replicas": [{"model": "m"}]}', "replicas[0]: expected {model: <name>, node: <node name>}"),
        ('{"replicas": [{"model": "m", "node": 1}]}', "replicas[0]: expected {model: <name>, node: <node name>}"),
        ('{"replicas": [{"model": "", "node": "n"}]}', "replicas[0]: expected {model: <name>, node: <node name>}"),
        ('{"nodes": [], "extra": 1}', "unknown top-level key 'extra'"),
        ("[1]", "the document must be a mapping"),
        ('{"nodes": {"name": "n"}}', "nodes must be a list"),
        ('{"replicas": {"model": "m"}}', "replicas must be a list"),
    ],
    ids=[
        "truncated text",
        "a number as a name",
        "an unknown eligible",
        "a replica without a node",
        "a number as a replica's node",
        "an empty model",
        "an unknown top-level key",
        "a list at the root",
        "nodes as a mapping",
        "replicas as a mapping",
    ],
)
def test_errors_name_the_file_and_the_place(text: str, message: str) -> None:
    with pytest.raises(StateError) as err:
        jsonstate.read(text.encode(), "s.json")
    assert str(err.value).startswith("cluster state s.json: ")
    assert message in str(err.value)


def test_invalid_utf8_is_refused_with_its_byte_offset() -> None:
    with pytest.raises(StateError, match=r"cluster state s.json: not UTF-8 text \(byte 21\)"):
        jsonstate.read(b'{"nodes": [{"name": "\xff"}]}', "s.json")


def test_an_empty_document_is_an_empty_cluster() -> None:
    assert jsonstate.read(b"null", "s.json") == ([], {}, [])
    assert jsonstate.read(b"{}", "s.json") == ([], {}, [])
