"""A saved Nomad plan's driver data is untrusted: decoded strictly in one place, or refused."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelsched.drivers.nomad import jobops
from modelsched.errors import PlanFileError
from modelsched.model.entry import Entry
from tests.nomad.flow import apply, desired, driver, make

MODELS = (
    Entry(model_name="gpt-oss", node_selector={"tier": "gpu"}, spread=True),
    Entry(model_name="whisper", node_selector={"tier": "cpu"}, min_replicas=1, max_replicas=2),
)


@pytest.fixture
def saved(nomad_sim: Any) -> dict[str, Any]:
    for i in (1, 2):
        nomad_sim.add_node(f"gpu-{i}", meta={"tier": "gpu"})
    nomad_sim.add_node("cpu-1", meta={"tier": "cpu"})
    drv = driver(nomad_sim.address)
    data = make(drv, desired(*MODELS)).driver_data
    assert data is not None
    return data


def redigest(data: dict[str, Any]) -> dict[str, Any]:
    """An attacker who edits the jobs also recomputes the digest: the other checks must hold."""
    data["jobs_digest"] = jobops.digest(data["jobs"])
    return data


def first_job(data: dict[str, Any]) -> dict[str, Any]:
    job: dict[str, Any] = data["jobs"][0]
    return job


TAMPERING: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "a path-like job ID": (
        lambda d: redigest(first_job(d).update(job_id="../../v1/acl/tokens") or d), r"jobs\.0\.job_id"),
    "a job ID with a query string": (
        lambda d: redigest(first_job(d).update(job_id="modelsched-gpt-oss?purge=true") or d), r"jobs\.0\.job_id"),
    "a job ID of another model": (
        lambda d: redigest(first_job(d).update(job_id="modelsched-whisper") or d), r"jobs\.0\.job_id"),
    "an unknown operation kind": (lambda d: first_job(d).update(kind="drop-table") or d, r"jobs\.0\.kind"),
    "a string index": (lambda d: first_job(d).update(modify_index="7") or d, r"jobs\.0\.modify_index"),
    "a float index": (lambda d: first_job(d).update(modify_index=7.5) or d, r"jobs\.0\.modify_index"),
    "an unknown key": (lambda d: first_job(d).update(extra=1) or d, r"jobs\.0\.extra"),
    "an allocation ID with a slash": (
        lambda d: redigest(first_job(d).update(stops=[{"alloc_id": "a/../b", "node_id": "n"}]) or d),
        r"allocation ID"),
    "a changed image, digest kept": (
        lambda d: first_job(d)["job"]["TaskGroups"][0]["Tasks"][0]["Config"].update(image="evil") or d,
        "digest recorded when the plan was made"),
    "a job that belongs to another model": (
        lambda d: redigest(first_job(d)["job"]["Meta"].update(modelsched_model="whisper") or d), r"jobs\.0\.job"),
    "a job field Nomad would drop": (
        lambda d: redigest(first_job(d)["job"].update(Constraint=[]) or d), "unknown field"),
    "a listed job ID that is not the model's": (
        lambda d: redigest(d["query"]["listed"].update({"gpt-oss": "x/y"}) or d), r"query\.listed"),
    "an update without a job": (lambda d: redigest(first_job(d).update(job=None) or d), "needs job"),
    "no version": (lambda d: d.pop("version") and d, "no Nomad driver data"),
}


@pytest.mark.parametrize("attack", sorted(TAMPERING))
def test_a_tampered_plan_is_refused_with_a_located_message(saved: dict[str, Any], attack: str) -> None:
    mutate, where = TAMPERING[attack]
    data = copy.deepcopy(saved)
    mutate(data)
    with pytest.raises(PlanFileError, match=where):
        jobops.decode(data)


def test_the_untouched_plan_decodes_into_frozen_operations(saved: dict[str, Any]) -> None:
    data = jobops.decode(copy.deepcopy(saved))
    assert [(op.model, op.kind) for op in data.ops] == [("gpt-oss", "register"), ("whisper", "register")]
    assert data.to_data() == saved
    with pytest.raises(AttributeError):
        data.ops[0].kind = "purge"  # type: ignore[misc]


def test_apply_refuses_a_tampered_plan_before_any_request(nomad_sim: Any) -> None:
    nomad_sim.add_node("gpu-1", meta={"tier": "gpu"})
    drv = driver(nomad_sim.address)
    p = make(drv, desired(MODELS[0]))
    assert p.driver_data is not None
    p.driver_data["jobs"][0]["job"]["TaskGroups"][0]["Tasks"][0]["Config"]["image"] = "evil"
    nomad_sim.reset_requests()
    with pytest.raises(PlanFileError, match="digest"):
        apply(drv, p)
    assert nomad_sim.requests == []
    assert nomad_sim.job("modelsched-gpt-oss") is None


def test_a_fresh_render_that_differs_names_the_job(saved: dict[str, Any]) -> None:
    ops = jobops.decode(copy.deepcopy(saved)).ops
    assert jobops.mismatched(ops, ops) == []
    other = copy.deepcopy(saved)
    other["jobs"][1]["job"]["TaskGroups"][0]["Count"] = 9
    fresh = jobops.decode(redigest(other)).ops
    assert jobops.mismatched(ops, fresh) == ["modelsched-whisper"]


def test_apply_with_a_config_refuses_a_plan_whose_jobs_the_template_no_longer_renders(
    nomad_sim: Any, tmp_path: Any
) -> None:
    nomad_sim.add_node("gpu-1", meta={"tier": "gpu"})
    template = tmp_path / "t.nomad.json.j2"
    body = '{"TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "docker", "Config": {"image": "%s"}}]}]}'
    template.write_text(body % "a")
    want = desired(MODELS[0])
    drv = driver(nomad_sim.address, job_template=str(template))
    p = make(drv, want)
    drv.verify_config(p, want)  # unchanged: accepted
    template.write_text(body % "b")
    with pytest.raises(PlanFileError, match=r"job\(s\) modelsched-gpt-oss differ from the jobs the config renders"):
        drv.verify_config(p, want)


def _static_data() -> dict[str, Any]:
    from modelsched.drivers.nomad import jobspec
    from modelsched.drivers.nomad.observe import Query
    from modelsched.drivers.nomad.template import load_template

    want = desired(*MODELS)
    job = jobspec.build_job(MODELS[0], load_template(None), jobspec.JobParams(
        job_id="modelsched-gpt-oss", namespace=None, region=None, datacenters=("*",), node_pool=None,
        placement="scheduler", count=1, matching=2))
    node = "11111111-1111-4111-8111-111111111111"
    op = jobops.JobOp("gpt-oss", "modelsched-gpt-oss", "update", 7, jobops.Wait(count=1, at_least_nodes=(node,)),
                      job=job, stops=(jobops.AllocStop("22222222-2222-4222-8222-222222222222", node),))
    return jobops.NomadData(Query.from_desired(want, adopt=False), "", "", (op,)).to_data()


STATIC = _static_data()
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(STATIC)[1:]


@settings(max_examples=300, deadline=None)
@given(path=st.sampled_from(PATHS), value=JSON, how=st.sampled_from(["replace", "drop", "insert"]),
       redigest_it=st.booleans())
def test_a_mutated_plan_is_decoded_or_refused_never_an_internal_error(
    path: tuple[Any, ...], value: Any, how: str, redigest_it: bool
) -> None:
    data = copy.deepcopy(STATIC)
    parent: Any = data
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "drop":
        del parent[last]
    elif isinstance(parent, dict):
        parent[f"extra-{last}"] = value
    else:
        parent.insert(last, value)
    if redigest_it and isinstance(data.get("jobs"), list):
        data["jobs_digest"] = jobops.digest(data["jobs"])
    try:
        got = jobops.decode(data)
    except PlanFileError:
        return
    for op in got.ops:  # whatever passed is a plain, safe request target
        assert op.job_id == "modelsched-" + op.model and "/" not in op.job_id
        assert all(jobops.PLAIN_ID.fullmatch(s.alloc_id) for s in op.stops)
