"""Prepare's pure decisions: which live Count stays, which node still qualifies."""

from __future__ import annotations

from typing import Any

import pytest

from modelsched.drivers.nomad import jobspec, prepare
from modelsched.model.cluster import Node, Observed
from modelsched.model.entry import Entry

BOUNDED = Entry(model_name="m", node_selector={"tier": "gpu"}, min_replicas=2, max_replicas=4)


def live(count: int, kind: str = "service", **extra: Any) -> dict[str, Any]:
    return {"Type": kind, "TaskGroups": [{"Name": "g", "Count": count, "Scaling": {"Min": 2, "Max": 4}}], **extra}


@pytest.mark.parametrize(
    ("count", "matching", "expected", "note"),
    [
        (4, 4, 4, "live Count 4 (set outside modelsched, e.g. by an autoscaler) is within min..max 2..4: kept"),
        (2, 5, 2, "live Count 2 (set outside modelsched, e.g. by an autoscaler) is within min..max 2..4: kept"),
        (4, 5, 4, "live Count 4 (set outside modelsched, e.g. by an autoscaler) is within min..max 2..4: kept"),
        (1, 5, 3, "live Count 1 is outside min..max 2..4: set to 3"),
        (5, 5, 3, "live Count 5 is outside min..max 2..4: set to 3"),
        (4, 3, 3, "live Count 4 is more than the 3 matching node(s) hold: set to 3"),
        (3, 5, 3, ""),
    ],
    ids=["within bounds, as many as the nodes hold: kept", "at min: kept", "at max: kept", "below min: set back",
         "above max: set back", "more than the nodes hold: set back", "equal to the target: nothing to say"],
)
def test_a_live_count_stays_only_within_bounds_and_what_the_nodes_hold(
    count: int, matching: int, expected: int, note: str
) -> None:
    assert prepare._count(BOUNDED, 3, matching, live(count)) == (expected, note)


@pytest.mark.parametrize(
    "job",
    [None, live(1, kind="system"), live(1, Stop=True)],
    ids=["no live job", "a system job being replaced", "a stopped job"],
)
def test_only_a_running_service_job_has_a_count_to_keep(job: dict[str, Any] | None) -> None:
    assert prepare._count(BOUNDED, 3, 5, job) == (3, "")


def node(**kw: Any) -> Node:
    base: dict[str, Any] = dict(id="n1", name="n1", labels={"tier": "gpu"})
    base.update(kw)
    return Node(**base)


@pytest.mark.parametrize(
    ("n", "scope", "pinned", "expected"),
    [
        (node(), None, None, True),
        (node(labels={"tier": "cpu"}), None, None, False),
        (node(eligible=False), None, None, False),
        (node(draining=True), None, None, False),
        (node(status="down"), None, None, False),
        (node(), frozenset({"other"}), None, False),
        (node(), frozenset({"n1"}), None, True),
        (node(), None, frozenset({"n1"}), True),
        (node(labels={"tier": "cpu"}), None, frozenset({"n1"}), True),
        (node(), None, frozenset({"n2"}), False),
        (None, None, None, False),
    ],
    ids=["healthy and matching", "relabelled", "ineligible", "draining", "down", "outside the job's scope",
         "inside the job's scope", "pinned there", "pinned there whatever its labels", "pinned elsewhere",
         "gone"],
)
def test_a_node_qualifies_when_healthy_in_scope_and_matching_or_pinned(
    n: Node | None, scope: frozenset[str] | None, pinned: frozenset[str] | None, expected: bool
) -> None:
    assert prepare.qualifies(n, BOUNDED, scope, pinned) is expected


def removal_on(state: dict[str, Any]) -> tuple[list[str], str | None]:
    """Plan a pinned spread model on n1..n3 after n1 changed to `state`: (stopped allocations, n1's note)."""
    from modelsched.drivers.nomad import translate
    from modelsched.drivers.nomad.observe import Snapshot
    from modelsched.drivers.nomad.template import load_template
    from modelsched.planner import plan as make_plan
    from tests.nomad.flow import desired

    entry = Entry(model_name="m", node_selector={"tier": "gpu"}, spread=True, placement="pinned")
    want = desired(entry)
    ids = [f"0000000{i}-0000-4000-8000-000000000000" for i in (1, 2, 3)]
    nodes = [Node(id=ids[0], name="n1", labels={"tier": "gpu"}, **state)]
    nodes += [Node(id=i, name=f"n{k}", labels={"tier": "gpu"}) for k, i in ((2, ids[1]), (3, ids[2]))]
    allocs = [f"a000000{i}-0000-4000-8000-000000000000" for i in (1, 2, 3)]
    observed = Observed(nodes=tuple(nodes), replicas={"m": ids}, replica_ids={"m": allocs}, fingerprint="x")
    own = translate.Ownership(managed={"modelsched-m": "m"},
                              jobs={"modelsched-m": translate.JobInfo("modelsched-m", "m", "system", 5, False)})
    template = load_template(None)
    params = dict(job_id="modelsched-m", namespace=None, region=None, datacenters=("*",), node_pool=None,
                  placement="pinned", count=1, matching=3)
    live = {"modelsched-m": jobspec.build_job(entry, template, jobspec.JobParams(**params, pinned_nodes=tuple(ids)))}
    p = make_plan(want, observed, prune=False, driver="nomad", cluster={})
    got = prepare.build(p, want, Snapshot(observed, own), template, live, namespace=None, region=None)
    [op] = got.ops
    assert op.kind == "update" and op.wait.gone == (allocs[0],)
    [change] = got.changes
    return [s.alloc_id for s in op.stops], change.note


@pytest.mark.parametrize(
    ("state", "stopped"),
    [({"eligible": False}, False), ({"eligible": False, "draining": True}, True), ({"status": "down"}, True)],
    ids=["ineligible: the job update stops it", "draining: ignored by the update, stopped by ID",
         "down: stopped by ID"],
)
def test_a_pinned_removal_is_left_to_the_job_update_only_where_nomad_stops_it(
    state: dict[str, Any], stopped: bool
) -> None:
    stops, note = removal_on(state)
    assert stops == (["a0000001-0000-4000-8000-000000000000"] if stopped else [])
    assert note == (prepare.STOP_NOTE.format(alloc="a0000001") if stopped else prepare.UPDATE_STOPS_NOTE)
