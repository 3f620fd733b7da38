"""The one-pass JSON reader on raw text, not only `json.dumps` output: duplicate keys
(in the root, a node, a replica), replica-shaped objects outside `replicas`, null and
non-list values, invalid nodes, truncated text. Whenever it does not decline, it must
give what the plain reader gives: the same state, or the same error message.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelsched.drivers.local import LocalDriver, parse
from modelsched.errors import StateError

Outcome = tuple[str, object]


def _plain(text: str) -> Outcome:
    try:
        doc = parse.parse_document(text, "s.json", "json")
        state = parse.build_state(doc, "s.json")
        parse.check_json_duplicates(text, doc, "s.json")
    except StateError as exc:
        return ("error", str(exc))
    return ("state", state)


def _fast(text: str) -> Outcome | None:
    try:
        state = parse.build_json_state(text, "s.json")
    except StateError as exc:
        return ("error", str(exc))
    return None if state is None else ("state", state)


def _obj(pairs: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f'"{k}": {v}' for k, v in pairs) + "}"


scalars = st.sampled_from(['"m"', '"n1"', '"n2"', '""', '" "', "1", "null", "true", '"a:b"', "{}", "[]"])
replica_ok = st.builds(
    lambda m, n: _obj([("model", m), ("node", n)]),
    st.sampled_from(['"m"', '"k"']),
    st.sampled_from(['"n1"', '"n2"', '"n3"', '"n\\u0031"']),
)
# Any small object over the keys that matter, duplicates included.
loose = st.lists(
    st.tuples(st.sampled_from(["model", "node", "name", "labels", "status", "eligible", "x"]), scalars), max_size=4
).map(_obj)
replica = replica_ok | replica_ok | loose
labels = st.sampled_from(['{"t": "g"}', '{"model": "m", "node": "n1"}', "{}", '{"t": 1}', '{"t": "g", "t": "c"}'])
node = (
    st.lists(
        st.tuples(
            st.sampled_from(["name", "name", "labels", "status", "eligible"]),
            st.sampled_from(['"n1"', '"n2"', '"n3"', '" "', '"down"', '"ready"', '"bogus"', "false", '"yes"', "3"])
            | labels,
        ),
        max_size=4,
    ).map(_obj)
    | st.just('{"name": "n1"}')
    | st.just('{"name": "n2", "labels": {"t": "g"}}')
    | loose
)


def _list(items: st.SearchStrategy[str], size: int) -> st.SearchStrategy[str]:
    return st.lists(items, max_size=size).map(lambda xs: "[" + ", ".join(xs) + "]")


members = st.one_of(
    st.tuples(st.just("nodes"), _list(node, 4) | st.sampled_from(["null", "{}", "3", '""'])),
    st.tuples(st.just("replicas"), _list(replica, 5) | _list(replica_ok, 5) | st.sampled_from(["null", "{}", '""'])),
    st.tuples(st.just("x"), scalars),
)
node_ok = st.sampled_from(
    ['{"name": "n1"}', '{"name": "n2", "labels": {"t": "g"}}', '{"status": "down", "name": "n1"}']
)
well_formed = st.tuples(_list(node_ok | node_ok | node, 4), _list(replica_ok | replica_ok | replica, 5)).map(
    lambda nr: _obj([("nodes", nr[0]), ("replicas", nr[1])])
)
texts = (
    well_formed
    | st.lists(members, min_size=1, max_size=3).map(_obj)
    | replica
    | st.sampled_from(["[]", "null", '"x"', "{"])
)


@settings(max_examples=400, deadline=None)
@given(texts, st.booleans())
def test_raw_text_gives_what_the_plain_reader_gives_unless_declined(text: str, truncate: bool) -> None:
    if truncate:
        text = text[:-1]
    fast = _fast(text)
    if fast is not None:
        assert fast == _plain(text)


@pytest.mark.parametrize(
    "text",
    [
        # duplicate root key: the first replicas list (empty) is dropped
        '{"nodes": [{"name": "n1"}], "replicas": [], "replicas": [{"model": "m", "node": "n1"}]}',
        # duplicate key in a replica that makes it a valid pair
        '{"nodes": [{"name": "n1"}], "replicas": [{"model": 5, "model": "m", "node": "n1"}]}',
        # duplicate key and an invalid node: the node error comes first, as in the plain reader
        '{"nodes": [{"name": "n1", "status": "bogus"}], "replicas": [{"model": "m", "model": "k", "node": "n1"}]}',
        # duplicate label key
        '{"nodes": [{"name": "n1", "labels": {"t": "g", "t": "c"}}], "replicas": []}',
        # a key spelled with an escape is still that key
        '{"nodes": [{"name": "n1"}], "replicas": [{"mod\\u0065l": "m", "node": "n\\u0031"}]}',
    ],
)
def test_duplicate_keys_and_escapes_read_as_the_plain_reader_reads_them(text: str) -> None:
    fast = _fast(text)
    assert fast is not None
    assert fast == _plain(text)


@pytest.mark.parametrize("was_enabled", [True, False])
def test_observe_leaves_the_collector_as_it_found_it_when_the_state_is_refused(
    tmp_path: Path, was_enabled: bool
) -> None:
    path = tmp_path / "cluster.json"
    path.write_text('{"nodes": [{"name": "n1"}], "replicas": [{"model": "m", "model": "k", "node": "n1"}]}')
    (gc.enable if was_enabled else gc.disable)()
    try:
        with pytest.raises(StateError, match="duplicate key 'model'"):
            LocalDriver(path).observe(None)  # type: ignore[arg-type]
        assert gc.isenabled() is was_enabled
        path.write_bytes(b'{"nodes": [{"name": "\xff"}]}')
        with pytest.raises(StateError, match="not UTF-8"):
            LocalDriver(path).observe(None)  # type: ignore[arg-type]
        assert gc.isenabled() is was_enabled
    finally:
        gc.enable()
