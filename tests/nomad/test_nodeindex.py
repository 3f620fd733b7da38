"""Selectors and job scopes over node stubs: backtick filters, go-glob datacenters, one index."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelsched.drivers.nomad import nodeindex
from modelsched.drivers.nomad.client import Connection, NomadClient
from modelsched.drivers.nomad.observe import Query
from modelsched.errors import ConfigError
from modelsched.model.entry import Desired, Entry
from tests.nomadsim import NomadSim
from tests.nomadsim.bexpr import compile_filter


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("*", "dc1", True),
        ("dc1", "dc1", True),
        ("dc1", "dc2", False),
        ("dc*", "dc1", True),
        ("*-east", "us-east", True),
        ("*-east", "us-west", False),
        ("us-*-1", "us-east-1", True),
        ("us-*-1", "us-east-2", False),
        ("dc?", "dc1", False),
        ("dc?", "dc?", True),
        ("dc[12]", "dc1", False),
        ("dc[12]", "dc[12]", True),
        ("", "", True),
        ("", "dc1", False),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "aXcYb", False),
        ("*a*", "bab", True),
        ("eu-*-a", "eu-a", False),
        ("a*b*c", "abc", True),
        ("dc1", "dc10", False),
    ],
    ids=[
        "star matches anything", "exact name", "another name", "trailing star", "leading star",
        "leading star, other suffix", "inner star", "inner star, other suffix",
        "? is a literal, not one character", "? matches itself", "[..] is a literal, not a class",
        "[..] matches itself", "empty matches empty", "empty matches nothing else", "two stars in order",
        "two stars out of order", "stars on both sides", "prefix and suffix may not overlap",
        "a star matches the empty run", "an exact name is not a prefix",
    ],
)
def test_datacenter_patterns_are_go_glob_where_only_star_is_special(pattern: str, subject: str, matches: bool) -> None:
    assert nodeindex.go_glob(pattern, subject) is matches


def test_a_job_scope_uses_go_glob_and_the_node_pool() -> None:
    stubs = [
        {"ID": "a", "Datacenter": "dc1", "NodePool": "gpu"},
        {"ID": "b", "Datacenter": "dc?", "NodePool": "gpu"},
        {"ID": "c", "Datacenter": "dc2", "NodePool": "default"},
    ]
    assert nodeindex.job_scope(stubs, "all", ["*"]) is None
    assert nodeindex.job_scope(stubs, "all", ["dc?"]) == {"b"}
    assert nodeindex.job_scope(stubs, "gpu", ["dc*"]) == {"a", "b"}
    assert nodeindex.job_scope(stubs, "default", ["*"]) == {"c"}
    assert nodeindex.job_scope(stubs, "gpu", ["dc1", "dc2"]) == {"a"}
    assert nodeindex.job_scope(stubs, "gpu", ["ap-*"]) == frozenset()


@pytest.mark.parametrize(
    ("selector", "expr"),
    [
        ({"tier": "gpu"}, "Meta[`tier`] == `gpu`"),
        ({"zone": "a", "tier": 'say "hi"'}, 'Meta[`tier`] == `say "hi"` and Meta[`zone`] == `a`'),
        ({"path": "C:\\models\\"}, "Meta[`path`] == `C:\\models\\`"),
        ({"node.class": "big"}, None),
        ({"node.pool": "gpu", "tier": "x"}, "Meta[`tier`] == `x`"),
        ({}, None),
        ({'k"] or true or Meta["x': "v"}, 'Meta[`k"] or true or Meta["x`] == `v`'),
        ({"tier": "a\nb\x01"}, "Meta[`tier`] == `a\nb\x01`"),
    ],
    ids=["one pair", "a double quote stays data", "backslashes stay data", "stub fields only: no filter",
         "stub fields are left out", "an empty selector needs no filter", "a key cannot break out",
         "control characters are raw data"],
)
def test_filters_write_keys_and_values_as_backtick_raw_strings(selector: dict[str, str], expr: str | None) -> None:
    assert nodeindex.meta_filter(selector) == expr


@pytest.mark.parametrize(
    ("selector", "why"),
    [({"tier": "a`b"}, "a backtick"), ({"tier": "a\rb"}, "a carriage return"), ({"ti`er": "x"}, "key 'ti`er'")],
    ids=["a backtick in a value", "a carriage return in a value", "a backtick in a key"],
)
def test_a_selector_nomads_filter_cannot_express_is_refused_at_plan_time_naming_the_model(
    selector: dict[str, str], why: str
) -> None:
    desired = Desired(entries=(Entry(model_name="whisper", node_selector=selector, spread=True),
                               Entry(model_name="ok", node_selector={"tier": "gpu"}, spread=True)))
    with pytest.raises(ConfigError, match=rf"model 'whisper': node_selector .*{why}.*cannot express") as err:
        Query.from_desired(desired, adopt=False)
    assert "'ok'" not in str(err.value)


@pytest.mark.parametrize(
    ("selector", "what"),
    [({"tier": "a`b"}, "backtick"), ({"ti`er": "gpu"}, "backtick"), ({"tier": "a\rb"}, "carriage return")],
    ids=["backtick in a value", "backtick in a key", "Go drops a carriage return from a raw string"],
)
def test_what_a_raw_string_cannot_hold_is_refused_by_name_by_the_filter_itself(
    selector: dict[str, str], what: str
) -> None:
    with pytest.raises(ConfigError, match=what):
        nodeindex.meta_filter(selector)


@given(
    key=st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,12}", fullmatch=True),
    value=st.text(min_size=0, max_size=20).filter(lambda v: "`" not in v and "\r" not in v),
    other=st.text(min_size=0, max_size=20),
)
def test_the_filter_is_one_comparison_whatever_the_value(key: str, value: str, other: str) -> None:
    """Whatever the label value (quotes, backslashes, `and`, newlines), the filter is one
    comparison: it matches the node carrying exactly that value and no other."""
    predicate = compile_filter(nodeindex.meta_filter({key: value}) or "")
    assert predicate({"Meta": {key: value}})
    assert predicate({"Meta": {key: other}}) == (other == value)
    assert not predicate({"Meta": {}})


@pytest.mark.parametrize(
    "value", ['a"b', "a\\b", "a\\\"b", "line\nbreak", "tab\there", "caf\u00e9", "${meta.x}", "a'b", "a b"],
    ids=["a double quote", "a backslash", "backslash quote", "a newline", "a tab", "non-ASCII",
         "interpolation syntax", "a single quote", "a space"],
)
def test_the_filter_selects_exactly_the_nodes_with_the_value_on_a_server_following_go_bexpr(value: str) -> None:
    with NomadSim() as sim:
        sim.add_node("hit", meta={"tier": value})
        sim.add_node("near", meta={"tier": value + "x"})
        sim.add_node("other", meta={"tier": "gpu"})
        got = NomadClient(Connection(address=sim.address)).nodes(nodeindex.meta_filter({"tier": value}))
        assert [n["Name"] for n in got] == ["hit"]


STUB = st.fixed_dictionaries({
    "ID": st.uuids().map(str),
    "NodeClass": st.sampled_from(["", "big", "small"]),
    "Datacenter": st.sampled_from(["dc1", "dc2"]),
    "NodePool": st.sampled_from(["default", "gpu"]),
})
SELECTOR = st.dictionaries(st.sampled_from(["node.class", "node.datacenter", "node.pool", "tier"]),
                           st.sampled_from(["", "big", "dc1", "gpu", "default"]), max_size=3)


@given(st.lists(STUB, max_size=12), st.lists(SELECTOR, max_size=5))
def test_the_stub_index_matches_what_checking_every_node_gives(stubs: list[dict[str, Any]],
                                                               selectors: list[dict[str, str]]) -> None:
    sels = [tuple(sorted(s.items())) for s in selectors]
    got = nodeindex.by_stub_fields(stubs, sels)
    for sel in sels:
        want = {
            s["ID"] for s in stubs
            if all(s[field] == v for k, v in sel if (field := nodeindex.STUB_KEYS.get(k)) is not None)
        }
        assert got[sel] == want
