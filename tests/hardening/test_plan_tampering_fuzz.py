"""Fuzzing saved plans: real plans, mutated (keys dropped, values retyped, keys inserted,
path-like names and IDs), never make modelsched fail with an internal error, and a
Nomad apply never sends a request outside the job, node, allocation, evaluation and
agent endpoints (checked in the test server's request log).

Each example starts from a plan the real CLI writes at test time (the drivers change;
checked-in plans would go stale), so a mutated plan that is still valid may apply:
that is a fine outcome too, as long as the promise holds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.clirun import Run
from tests.hardening.plan_tampering_helpers import (
    local_plan,
    mixed_cluster,
    no_internal_error,
    nomad_env,
    nomad_plan,
    outside,
    save,
)
from tests.nomadsim import NomadSim

PATH_LIKE = ["../x", "a/b", "?", "#", "%", "%2e%2e", "..", ".", "/", "a?b#c", "..%2f..%2fv1%2facl"]
HOSTILE_TEXT = ["", " ", "\x1b[2J", "a\nb", "\u202e", "\x00", "\x85", "x" * 600, "ok", "gpt-oss", "gpu-1"]
VALUES = st.one_of(
    st.sampled_from(PATH_LIKE + HOSTILE_TEXT),
    st.sampled_from([None, True, False, 0, 1, -1, 2**31, 2**63, 1.5, [], {}, ["x"], {"k": "v"}]),
    st.text(max_size=8),
    st.integers(min_value=-(2**40), max_value=2**40),
)
KEYS = st.one_of(
    st.sampled_from(["model", "node", "node_id", "action", "target", "restarts", "jobs", "ID", "extra", "../x"]),
    st.text(min_size=1, max_size=6),
)

Path_ = tuple[Any, ...]


def containers(value: Any, path: Path_ = ()) -> list[Path_]:
    """Paths of every list and mapping in a JSON value (the root included)."""
    found = [path] if isinstance(value, (dict, list)) else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += containers(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += containers(item, (*path, i))
    return found


def at(value: Any, path: Path_) -> Any:
    for part in path:
        value = value[part]
    return value


@st.composite
def mutation(draw: st.DrawFn, plan: dict[str, Any], within: str | None, outside_of: str | None) -> None:
    """Change `plan` in place once: drop a key, retype a value, insert a key, or put a
    path-like string where a name or ID was. `within`/`outside_of` limit where."""
    paths = [
        p for p in containers(plan)
        if (within is None or (p[:1] == (within,) and len(p) > 1))
        and (outside_of is None or p[:1] != (outside_of,))
    ]
    if not paths:
        return
    path = draw(st.sampled_from(paths))
    holder = at(plan, path)
    keys = list(holder) if isinstance(holder, dict) else list(range(len(holder)))
    kind = draw(st.sampled_from(["drop", "retype", "insert", "path-like"]))
    if kind == "insert" or not keys:
        if isinstance(holder, dict):
            holder[draw(KEYS)] = draw(VALUES)
        else:
            holder.append(draw(VALUES))
        return
    key = draw(st.sampled_from(keys))
    if kind == "drop":
        del holder[key]
    elif kind == "retype":
        holder[key] = draw(VALUES)
    else:
        item = holder[key]
        holder[key] = draw(st.sampled_from(PATH_LIKE)) if not isinstance(item, str) else item + draw(
            st.sampled_from(PATH_LIKE)
        )


@pytest.fixture
def cli(request: pytest.FixtureRequest) -> Run:
    runner: Run = request.getfixturevalue("run")
    return runner


FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples in every run: CI stays reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data())
def test_mutated_local_plans_never_cause_an_internal_error(cli: Run, tmp_path: Path, data: st.DataObject) -> None:
    plan = local_plan(cli, tmp_path)
    for _ in range(data.draw(st.integers(1, 3))):
        data.draw(mutation(plan, None, None))
    save(tmp_path, plan)
    state = (tmp_path / "cluster.yaml").read_bytes()
    shown = cli("show", "plan.json")
    no_internal_error(shown)
    applied = cli("apply", "plan.json")
    no_internal_error(applied)
    if shown.code == 1:  # refused on read: nothing may change
        assert applied.code == 1 and (tmp_path / "cluster.yaml").read_bytes() == state


def nomad_fuzz(cli: Run, tmp_path: Path, data: st.DataObject, within: str | None, outside_of: str | None) -> None:
    with NomadSim() as sim:
        mixed_cluster(sim)
        plan = nomad_plan(cli, sim, tmp_path)
        for _ in range(data.draw(st.integers(1, 3))):
            data.draw(mutation(plan, within, outside_of))
        save(tmp_path, plan)
        sim.reset_requests()
        env = nomad_env(sim)
        no_internal_error(cli("show", "plan.json", env=env))
        no_internal_error(cli("apply", "plan.json", "--timeout", "1", env=env))
        assert outside(sim.requests) == []


@settings(FUZZ, max_examples=30)
@given(data=st.data())
def test_mutated_nomad_plans_never_reach_another_endpoint(cli: Run, tmp_path: Path, data: st.DataObject) -> None:
    nomad_fuzz(cli, tmp_path, data, None, "driver_data")


def test_the_request_check_catches_a_path_outside_the_endpoints() -> None:
    """The fuzz tests' own check, against requests a tampered plan could cause."""
    log = [("GET", "/v1/job/modelsched-a", {}), ("POST", "/v1/acl/token", {}), ("GET", "/v1/job/../x", {}),
           ("DELETE", "/v1/job/a/b", {}), ("GET", "/v1/nodes", {})]
    assert outside(log) == ["POST /v1/acl/token", "GET /v1/job/../x", "DELETE /v1/job/a/b"]


def test_the_mutations_reach_every_part_of_a_plan() -> None:
    plan = {"changes": [{"node": "a"}], "driver_data": {"jobs": {"j": {"ID": "j"}}}}
    assert set(containers(plan)) == {(), ("changes",), ("changes", 0), ("driver_data",), ("driver_data", "jobs"),
                                     ("driver_data", "jobs", "j")}
    assert json.dumps(plan)


@settings(FUZZ, max_examples=20)
@given(data=st.data())
def test_mutated_nomad_driver_data_never_reaches_another_endpoint(
    cli: Run, tmp_path: Path, data: st.DataObject
) -> None:
    nomad_fuzz(cli, tmp_path, data, "driver_data", None)
