"""The one-pass JSON state reader: same result as the plain reader, or it declines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelsched.drivers.local import LocalDriver, parse
from modelsched.drivers.local.groupjson import parse_grouped

NAMES = ["a", "b", "c", "d"]
label_maps = st.dictionaries(st.sampled_from(["tier", "zone", "model", "node"]), st.sampled_from(["x", "y"]))
node_docs = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(NAMES)},
        optional={"labels": label_maps, "status": st.sampled_from(["ready", "down"]), "eligible": st.booleans()},
    ),
    max_size=6,
)
replica_docs = st.lists(
    st.fixed_dictionaries({"model": st.sampled_from(["m1", "m2"]), "node": st.sampled_from([*NAMES, "ghost"])}),
    max_size=10,
)


def plain(text: str) -> parse.State:
    return parse.build_state(parse.parse_document(text, "s.json", "json"), "s.json")


@settings(max_examples=300, deadline=None)
@given(node_docs, replica_docs, st.booleans())
def test_the_one_pass_reader_gives_what_the_plain_reader_gives(
    nodes: list[dict[str, Any]], replicas: list[dict[str, str]], indent: bool
) -> None:
    text = json.dumps({"nodes": nodes, "replicas": replicas}, indent=2 if indent else None)
    fast = parse.build_json_state(text, "s.json")
    if fast is None:
        # It may only decline when a node's labels look like a replica entry.
        assert any({"model", "node"} == set(n.get("labels", {})) for n in nodes)
        return
    assert fast == plain(text)


def test_it_files_replicas_under_their_model_in_file_order_with_one_object_per_node_name() -> None:
    text = json.dumps(
        {
            "nodes": [{"name": "n1"}, {"name": "n2"}],
            "replicas": [{"model": "m", "node": "n2"}, {"model": "m", "node": "n1"}, {"model": "k", "node": "n2"}],
        }
    )
    grouped = parse_grouped(text)
    assert grouped is not None
    assert grouped.replicas == {"m": ["n2", "n1"], "k": ["n2"]}
    assert grouped.replicas["m"][0] is grouped.replicas["k"][0]
    built = parse.build_json_state(text, "s.json")
    assert built is not None
    nodes, replicas, _ = built
    assert nodes[1].id is replicas["m"][0] is replicas["k"][0]


@pytest.mark.parametrize(
    "doc",
    [
        '{"nodes": [], "replicas": [{"model": "m", "node": "n", "x": 1}]}',
        '{"nodes": [], "replicas": [{"model": "m", "node": 3}]}',
        '{"nodes": [], "replicas": [{"model": "", "node": "n"}]}',
        '{"nodes": [], "replicas": [["m", "n"]]}',
        '{"nodes": [], "replicas": {"model": "m", "node": "n"}}',
        '{"nodes": [{"name": "n", "labels": {"model": "m", "node": "n"}}], "replicas": []}',
        '{"nodes": [{"model": "m", "node": "n"}], "replicas": [{"model": "m", "node": "n"}]}',
        '{"nodes": [], "replicas": [], "extra": 1}',
        '{"model": "m", "node": "n"}',
        "[]",
        '{"nodes": [], "replicas": [',
    ],
)
def test_it_declines_anything_but_a_well_formed_state(doc: str) -> None:
    assert parse_grouped(doc) is None


def test_a_declined_state_is_read_the_plain_way(tmp_path: Path) -> None:
    # Labels shaped like a replica entry: taken by the hook, so the reader declines.
    path = tmp_path / "cluster.json"
    path.write_text(
        json.dumps(
            {
                "nodes": [{"name": "n1", "labels": {"model": "m", "node": "n1"}}],
                "replicas": [{"model": "m", "node": "n1"}],
            }
        )
    )
    observed = LocalDriver(path).observe(None)  # type: ignore[arg-type]
    assert observed.nodes[0].labels == {"model": "m", "node": "n1"}
    assert observed.replicas == {"m": ["n1"]}


def test_duplicate_keys_are_still_refused_on_the_one_pass_path() -> None:
    text = '{"nodes": [{"name": "n1"}], "replicas": [{"model": "m", "model": "k", "node": "n1"}]}'
    with pytest.raises(parse.StateError, match="duplicate key 'model'"):
        parse.build_json_state(text, "s.json")
