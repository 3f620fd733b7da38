"""The saved-plan format: written by orjson, byte-identical to the standard library's
indented JSON on real plans; always valid JSON (lone surrogates included); read back
to the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelsched.config.planfile import read_plan
from modelsched.errors import PlanFileError
from modelsched.model.plan import Plan, dump_plan, load_plan
from modelsched.planner import plan as make_plan
from tests.builders import bounded, desired, node, observed, spread
from tests.clirun import EXAMPLES, Run


def stdlib(text: str) -> str:
    """What `json.dumps(indent=2, ensure_ascii=False)` writes for the same data (the
    format before orjson): key order and values are the plan's own."""
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def in_memory(*names: str, model: str | None = None) -> Plan:
    """A plan over nodes (and models, unless `model` names the one model) with the given names."""
    nodes = [node(n, tier="gpu", zone=n) for n in names]
    first = model or names[0]
    want = desired(spread(first, tier="gpu"), bounded((model or names[-1]) + "-b", 1, 2, zone=names[-1]))
    return make_plan(want, observed(nodes, [(first, names[-1])]), driver="local", cluster={"state": "/s.yaml"})


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(("gpu-1", "gpu-2"), id="ASCII names"),
        pytest.param(("modèle-été", "nœud-ß", "模型", "узел"), id="accented, CJK and Cyrillic names"),
        pytest.param(("emoji-🚀", "zero\u200bwidth", "line\u2028sep"), id="emoji, zero-width and U+2028 text"),
    ],
)
def test_plan_json_is_byte_identical_to_the_stdlib_format(names: tuple[str, ...]) -> None:
    text = dump_plan(in_memory(*names))
    assert text == stdlib(text)
    assert names[1] in text  # written as UTF-8 text, not \\u escapes


def test_a_real_local_plan_from_the_examples_is_byte_identical(run: Run, tmp_path: Path) -> None:
    got = run("plan", "--config", str(EXAMPLES / "scheduling.yaml"), "--state", str(EXAMPLES / "cluster.yaml"),
              "--format", "json", "--out", "plan.json")
    assert got.code == 0, got.err
    saved = (tmp_path / "plan.json").read_text(encoding="utf-8")
    assert got.out == saved == stdlib(saved)
    assert dump_plan(load_plan(saved, "plan.json")) == saved  # the saved format reads back to the same bytes


def test_a_real_nomad_plan_with_rendered_jobs_is_byte_identical(run: Run, nomad_sim: Any, tmp_path: Path) -> None:
    for i in (1, 2):
        nomad_sim.add_node(f"gpu-{i}", meta={"tier": "gpu"})
    nomad_sim.add_node("cpu-1", meta={"tier": "cpu"})
    env = {"NOMAD_ADDR": nomad_sim.address, "MODELSCHED_DRIVER": "nomad"}
    got = run("plan", "--config", str(EXAMPLES / "localai-scheduling.yaml"), "--out", "plan.json", env=env)
    assert got.code == 0, got.err
    saved = (tmp_path / "plan.json").read_text(encoding="utf-8")
    assert "driver_data" in saved and saved == stdlib(saved)
    assert dump_plan(read_plan(str(tmp_path / "plan.json"))) == saved


def test_a_lone_surrogate_from_the_cluster_keeps_the_json_valid_and_is_refused_on_load() -> None:
    """Decision: orjson refuses lone surrogates, so the plan is written by the standard
    library with them as JSON escapes (valid JSON, valid UTF-8, nothing lost); a plan
    file holding one is refused on load, as names never hold them."""
    text = dump_plan(in_memory("gpu-\ud800", "gpu-2", model="llm"))
    text.encode("utf-8")  # strict: raises if a surrogate reached the output
    assert '"gpu-\\ud800"' in text
    assert json.loads(text)["changes"][0]["node"] == "gpu-\ud800"
    with pytest.raises(PlanFileError) as caught:
        load_plan(text, "plan.json")
    assert str(caught.value).startswith("plan.json: corrupt plan file: ")
    assert "line " in str(caught.value)


def test_integers_beyond_64_bits_keep_the_json_valid() -> None:
    plan = in_memory("gpu-1", "gpu-2").model_copy(update={"driver_data": {"big": 2**70}})
    text = dump_plan(plan)
    assert json.loads(text)["driver_data"]["big"] == 2**70 and text == stdlib(text)
