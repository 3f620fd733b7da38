"""Property: any valid entry, written as YAML or JSON in any accepted spelling, loads back
to the same contract (so what the digest and the templates see survives a round trip)."""

from __future__ import annotations

import json
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from modelsched.config.load import load_text
from modelsched.model.entry import Entry

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
names = text.filter(lambda s: s.strip() != "")
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | finite | text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    spread = draw(st.booleans())
    low = 0 if spread else draw(st.integers(0, 50))
    high = 0 if spread else draw(st.just(0) | st.integers(low, 60).filter(lambda h: h > 0))
    return Entry(
        model_name=draw(names),
        node_selector=draw(st.dictionaries(names, text, max_size=3)),
        spread=spread,
        min_replicas=low,
        max_replicas=high,
        route_policy=draw(st.sampled_from(["", "round_robin", "prefix_cache"])),
        balance_abs_threshold=draw(st.integers(0, 10**6)),
        balance_rel_threshold=draw(st.just(0.0) | st.floats(1, 1e9)),
        min_prefix_match=draw(st.floats(0, 1)),
        scorer_weights=draw(st.none() | st.dictionaries(text, finite, max_size=3)),
        vars=draw(st.dictionaries(text, json_values, max_size=3)),
        placement=draw(st.sampled_from([None, "scheduler", "pinned"])),
    )


@st.composite
def spellings(draw: st.DrawFn, entry: Entry) -> dict[str, Any]:
    """The entry as a user may write it: spread and defaults in any accepted spelling."""
    data = entry.contract()
    del data["spread"]
    if entry.spread:
        data.update(
            draw(
                st.sampled_from([{"replicas": "all"}, {"replicas": " ALL "}, {"replicas": True}, {"spread_all": True}])
            )
        )
        data.pop("min_replicas")
        data.pop("max_replicas")
    else:
        data.update(draw(st.sampled_from([{}, {"replicas": "auto"}, {"replicas": False}, {"replicas": None}])))
    if data["scorer_weights"] is None:
        del data["scorer_weights"]
    return data


@settings(max_examples=150, deadline=None)
@given(st.data(), st.lists(entries(), max_size=3, unique_by=lambda e: e.model_name))
def test_an_entry_round_trips_through_yaml_and_json(data: st.DataObject, declared: list[Entry]) -> None:
    written = [data.draw(spellings(e)) for e in declared]
    as_yaml = yaml.safe_dump(written, allow_unicode=True, sort_keys=False)
    as_json = json.dumps({"models": written}, ensure_ascii=False)
    expected = [e.contract() for e in declared]
    for loaded in (load_text(as_yaml, "r.yaml", "yaml"), load_text(as_json, "r.json", "json")):
        assert [e.contract() for e in loaded.entries] == expected
