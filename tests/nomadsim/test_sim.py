"""NomadSim behaves like the Nomad facts in /work/shared/NOMAD.md, through python-nomad over HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest
from nomad.api import exceptions as nx

from tests.nomadsim import NomadSim
from tests.nomadsim.helpers import client, job, raw, task, tier


def live_nodes(sim: NomadSim, job_id: str) -> list[str]:
    return sorted(a["NodeName"] for a in sim.allocations(job_id))


# -- jobs ---------------------------------------------------------------------------------------


def test_a_registered_job_is_stored_with_server_defaults_and_unknown_keys_dropped(nomad_sim: NomadSim) -> None:
    api = client(nomad_sim)
    body = job(Constraint=[tier("gpu")])  # typo: silently dropped like Nomad does
    body["TaskGroups"][0].pop("Count")
    reply = api.job.register_job("web", {"Job": body})
    assert set(reply) >= {"EvalID", "EvalCreateIndex", "JobModifyIndex", "Warnings", "Index"}
    stored = api.job.get_job("web")
    assert "Constraint" not in stored
    defaults = ("web", ["*"], "default", "global")
    assert (stored["Name"], stored["Datacenters"], stored["NodePool"], stored["Region"]) == defaults
    assert (stored["Namespace"], stored["Priority"], stored["TaskGroups"][0]["Count"]) == ("default", 50, 1)
    assert stored["JobModifyIndex"] == reply["JobModifyIndex"]


def test_count_defaults_to_scaling_min(nomad_sim: NomadSim) -> None:
    body = job(count=None)
    body["TaskGroups"][0]["Scaling"] = {"Min": 2, "Max": 4}
    nomad_sim.register_job_direct(body)
    assert nomad_sim.job("web")["TaskGroups"][0]["Count"] == 2  # type: ignore[index]


def test_re_registering_an_identical_job_keeps_its_modify_index_but_creates_an_evaluation(nomad_sim: NomadSim) -> None:
    nomad_sim.add_node("n1")
    api = client(nomad_sim)
    first = api.jobs.register_job({"Job": job()})
    second = api.jobs.register_job({"Job": job()})
    assert second["JobModifyIndex"] == first["JobModifyIndex"]
    assert second["EvalID"] != first["EvalID"]
    assert len(nomad_sim.evaluations("web")) == 2
    third = api.jobs.register_job({"Job": job(image="localai:v2")})
    assert third["JobModifyIndex"] > first["JobModifyIndex"]
    assert api.job.get_job("web")["Version"] == 1
    assert [v["Version"] for v in api.job.get_versions("web")["Versions"]] == [1, 0]


def test_enforce_index_conflict_is_a_500_starting_with_enforcing_job_modify_index(nomad_sim: NomadSim) -> None:
    api = client(nomad_sim)
    current = api.jobs.register_job({"Job": job()})["JobModifyIndex"]
    with pytest.raises(nx.BaseNomadException) as raised:
        api.job.register_job("web", {"Job": job(image="v2"), "EnforceIndex": True, "JobModifyIndex": current - 1})
    response = raised.value.nomad_resp
    assert response.status_code == 500
    assert response.text == (
        f"Enforcing job modify index {current - 1}: job exists with conflicting job modify index: {current}"
    )
    with pytest.raises(nx.BaseNomadException) as raised:
        api.job.register_job("web", {"Job": job(), "EnforceIndex": True, "JobModifyIndex": 0})
    assert raised.value.nomad_resp.text == "Enforcing job modify index 0: job already exists"
    ok = api.job.register_job("web", {"Job": job(image="v2"), "EnforceIndex": True, "JobModifyIndex": current})
    assert ok["JobModifyIndex"] > current


def test_a_concurrent_direct_registration_makes_the_saved_index_stale(nomad_sim: NomadSim) -> None:
    api = client(nomad_sim)
    saved = api.jobs.register_job({"Job": job()})["JobModifyIndex"]
    nomad_sim.register_job_direct(job(image="someone-else"))
    with pytest.raises(nx.BaseNomadException):
        api.jobs.register_job({"Job": job(image="mine"), "EnforceIndex": True, "JobModifyIndex": saved})


def test_changing_the_job_type_is_rejected(nomad_sim: NomadSim) -> None:
    api = client(nomad_sim)
    api.jobs.register_job({"Job": job()})
    with pytest.raises(nx.BaseNomadException) as raised:
        api.jobs.register_job({"Job": job(type_="system")})
    assert raised.value.nomad_resp.status_code == 500
    assert 'cannot update job from type "service" to "system"' in raised.value.nomad_resp.text


@pytest.mark.parametrize(
    "body, message",
    [
        (job(type_="system", count=2), "Job task group g has count 2. Count cannot exceed 1 with system scheduler"),
        ({**job(type_="system"), "Spreads": [{"Attribute": "${node.datacenter}"}]},
         "System jobs may not have a spread block"),
        ({"ID": "web", "TaskGroups": []}, "Missing job task groups"),
    ],
    ids=["system count above one", "system spread", "no task groups"],
)
def test_invalid_jobs_are_rejected_with_500_and_validate_reports_them_with_200(
    nomad_sim: NomadSim, body: dict[str, Any], message: str
) -> None:
    with pytest.raises(nx.BaseNomadException) as raised:
        client(nomad_sim).jobs.register_job({"Job": body})
    assert raised.value.nomad_resp.status_code == 500 and message in raised.value.nomad_resp.text
    # python-nomad's validate_job returns the Response, not the JSON body.
    report = client(nomad_sim).validate.validate_job({"Job": body}).json()
    assert report["Error"] and any(message in error for error in report["ValidationErrors"])


def test_a_job_without_id_is_a_400_from_the_agent(nomad_sim: NomadSim) -> None:
    """Follows command/agent/job_endpoint.go jobUpdate: checked before any RPC."""
    with pytest.raises(nx.BadRequestNomadException) as raised:
        client(nomad_sim).jobs.register_job({"Job": {"TaskGroups": [{"Name": "g", "Tasks": [task()]}]}})
    assert raised.value.nomad_resp.text == "Job ID hasn't been provided"


def test_scaling_needs_max_and_is_not_allowed_in_system_jobs(nomad_sim: NomadSim) -> None:
    api = client(nomad_sim)
    without_max = job(count=1)
    without_max["TaskGroups"][0]["Scaling"] = {"Min": 1}
    system = job(type_="system")
    system["TaskGroups"][0]["Scaling"] = {"Min": 1, "Max": 1}
    outside = job(count=5)
    outside["TaskGroups"][0]["Scaling"] = {"Min": 1, "Max": 3}
    for body in (without_max, system, outside):
        with pytest.raises(nx.BaseNomadException):
            api.jobs.register_job({"Job": body})


def test_malformed_json_is_a_400(nomad_sim: NomadSim) -> None:
    assert raw(nomad_sim, "POST", "/v1/jobs", data=b"{nope").status_code == 400


def test_deregister_stops_the_job_and_purge_removes_it(nomad_sim: NomadSim) -> None:
    api = client(nomad_sim)
    nomad_sim.add_node("n1")
    api.jobs.register_job({"Job": job()})
    api.job.deregister_job("web")
    stopped = api.job.get_job("web")
    assert stopped["Stop"] is True and stopped["Status"] == "dead"
    assert nomad_sim.allocations("web") == []
    api.job.deregister_job("web", purge=True)
    with pytest.raises(nx.URLNotFoundNomadException) as raised:
        api.job.get_job("web")
    assert raised.value.nomad_resp.text == "job not found"
    api.job.deregister_job("never-existed", purge=True)  # deleting a missing job succeeds


def test_job_stubs_have_meta_only_when_asked(nomad_sim: NomadSim) -> None:
    nomad_sim.register_job_direct(job(Meta={"owner": "modelsched"}))
    assert "Meta" not in raw(nomad_sim, "GET", "/v1/jobs").json()[0]
    stub = raw(nomad_sim, "GET", "/v1/jobs", params={"meta": "true"}).json()[0]
    assert stub["Meta"] == {"owner": "modelsched"}
    assert raw(nomad_sim, "GET", "/v1/jobs", params={"namespace": "other"}).json() == []


# -- nodes --------------------------------------------------------------------------------------


def test_node_stubs_have_no_meta_and_the_filter_runs_on_the_full_node(nomad_sim: NomadSim) -> None:
    gpu = nomad_sim.add_node("n1", meta={"tier": 'g"p\\u'})  # a `"` is only expressible in a raw string
    nomad_sim.add_node("n2", meta={"tier": "cpu"}, node_class="big")
    api = client(nomad_sim)
    stubs = api.nodes.get_nodes()
    assert len(stubs) == 2 and all("Meta" not in stub for stub in stubs)
    for expression in ('Meta.tier == `g"p\\u`', 'Meta[`tier`] == `g"p\\u`', 'Meta["tier"] != "cpu"'):
        assert [s["ID"] for s in api.nodes.get_nodes(filter_=expression)] == [gpu]
    both = api.nodes.get_nodes(filter_='(NodeClass == "big" and Status == "ready") or Meta.tier != "cpu"')
    assert len(both) == 2
    assert api.node.get_node(gpu)["Meta"] == {"tier": 'g"p\\u'}


def test_a_malformed_filter_is_a_400_like_nomads(nomad_sim: NomadSim) -> None:
    with pytest.raises(nx.BadRequestNomadException) as raised:
        client(nomad_sim).nodes.get_nodes(filter_='Meta.tier == "unterminated')
    assert raised.value.nomad_resp.text.startswith(
        "failed to create result paginator: failed to read filter expression:")


def test_an_unknown_node_is_a_404(nomad_sim: NomadSim) -> None:
    with pytest.raises(nx.URLNotFoundNomadException):
        client(nomad_sim).node.get_node("nope")


# -- scheduling ---------------------------------------------------------------------------------


def test_a_system_job_follows_nodes_joining_leaving_and_being_relabelled(nomad_sim: NomadSim) -> None:
    first = nomad_sim.add_node("n1", meta={"tier": "gpu"})
    nomad_sim.add_node("n2", meta={"tier": "cpu"})
    client(nomad_sim).jobs.register_job({"Job": job(type_="system", constraints=[tier("gpu")])})
    assert live_nodes(nomad_sim, "web") == ["n1"]
    third = nomad_sim.add_node("n3", meta={"tier": "gpu"})
    assert live_nodes(nomad_sim, "web") == ["n1", "n3"]
    assert {a["Name"] for a in nomad_sim.allocations("web")} == {"web.g[0]"}
    nomad_sim.set_meta(third, {"tier": "cpu"})
    assert live_nodes(nomad_sim, "web") == ["n1", "n3"]  # unchanged job: the allocation stays
    client(nomad_sim).jobs.register_job({"Job": job(type_="system", constraints=[tier("gpu")], Priority=60)})
    assert live_nodes(nomad_sim, "web") == ["n1"]  # a new version re-checks it
    nomad_sim.set_status(first, "down")
    assert live_nodes(nomad_sim, "web") == []
    lost = [a for a in nomad_sim.allocations("web", include_terminal=True) if a["NodeName"] == "n1"]
    assert [(a["ClientStatus"], a["DesiredStatus"]) for a in lost] == [("lost", "stop")]


def test_node_changes_do_not_touch_the_job_modify_index(nomad_sim: NomadSim) -> None:
    nomad_sim.register_job_direct(job(type_="system"))
    before = nomad_sim.job("web")["JobModifyIndex"]  # type: ignore[index]
    nomad_sim.add_node("n1")
    assert nomad_sim.job("web")["JobModifyIndex"] == before  # type: ignore[index]


def test_a_service_job_spreads_on_least_loaded_nodes_and_honours_distinct_hosts(nomad_sim: NomadSim) -> None:
    for name in ("n1", "n2"):
        nomad_sim.add_node(name)
    nomad_sim.register_job_direct(job(count=4))
    assert live_nodes(nomad_sim, "web") == ["n1", "n1", "n2", "n2"]
    distinct = job("solo", count=3, constraints=[{"Operand": "distinct_hosts", "RTarget": "true"}])
    reply = client(nomad_sim).jobs.register_job({"Job": distinct})
    assert live_nodes(nomad_sim, "solo") == ["n1", "n2"]
    evaluation = client(nomad_sim).evaluation.get_evaluation(reply["EvalID"])
    assert evaluation["FailedTGAllocs"]["g"]["NodesEvaluated"] == 2
    assert client(nomad_sim).evaluation.get_evaluation(evaluation["BlockedEval"])["Status"] == "blocked"


def test_a_count_decrease_stops_the_highest_name_indexes(nomad_sim: NomadSim) -> None:
    nomad_sim.add_node("n1")
    nomad_sim.add_node("n2")
    nomad_sim.register_job_direct(job(count=3))
    nomad_sim.register_job_direct(job(count=1))
    assert [a["Name"] for a in nomad_sim.allocations("web")] == ["web.g[0]"]


def test_a_down_node_loses_service_allocations_which_are_replaced_elsewhere(nomad_sim: NomadSim) -> None:
    first = nomad_sim.add_node("n1")
    nomad_sim.register_job_direct(job(count=1))
    nomad_sim.add_node("n2")
    assert live_nodes(nomad_sim, "web") == ["n1"]
    nomad_sim.set_status(first, "down")
    assert [(a["NodeName"], a["Name"]) for a in nomad_sim.allocations("web")] == [("n2", "web.g[0]")]
    assert "lost" in {a["ClientStatus"] for a in nomad_sim.allocations("web", include_terminal=True)}


def test_constraint_changes_are_in_place_while_satisfied_and_destructive_otherwise(nomad_sim: NomadSim) -> None:
    nomad_sim.add_node("n1", meta={"tier": "gpu", "zone": "a"})
    nomad_sim.add_node("n2", meta={"tier": "cpu", "zone": "a"})
    nomad_sim.register_job_direct(job(constraints=[tier("gpu")]))
    (before,) = nomad_sim.allocations("web")
    zone = {"LTarget": "${meta.zone}", "RTarget": "a,b", "Operand": "set_contains_any"}
    nomad_sim.register_job_direct(job(constraints=[tier("gpu"), zone]))
    (same,) = nomad_sim.allocations("web")
    assert (same["ID"], same["JobVersion"]) == (before["ID"], 1)
    nomad_sim.register_job_direct(job(constraints=[tier("cpu")]))
    (moved,) = nomad_sim.allocations("web")
    assert moved["ID"] != before["ID"] and moved["NodeName"] == "n2"


def test_the_plan_endpoint_counts_changes_without_making_them(nomad_sim: NomadSim) -> None:
    for name in ("n1", "n2"):
        nomad_sim.add_node(name)
    api = client(nomad_sim)
    fresh = api.job.plan_job("web", {"Job": job(count=2)}, diff=True)
    assert fresh["Annotations"]["DesiredTGUpdates"]["g"]["Place"] == 2
    assert (fresh["JobModifyIndex"], fresh["Diff"]["Type"]) == (0, "Added")
    assert nomad_sim.job("web") is None
    modify = api.jobs.register_job({"Job": job(count=2)})["JobModifyIndex"]
    same = api.job.plan_job("web", {"Job": job(count=2)}, diff=True)
    assert (same["Diff"]["Type"], same["JobModifyIndex"]) == ("None", modify)
    assert same["Annotations"]["DesiredTGUpdates"]["g"]["Ignore"] == 2
    changed = api.job.plan_job("web", {"Job": job(count=1, image="v2")}, diff=True)
    counts = changed["Annotations"]["DesiredTGUpdates"]["g"]
    assert (counts["Stop"], counts["DestructiveUpdate"], changed["Diff"]["Type"]) == (1, 1, "Edited")
    assert len(nomad_sim.allocations("web")) == 2


def test_allocations_can_be_filtered_and_start_pending_when_asked(nomad_sim: NomadSim) -> None:
    nomad_sim.alloc_start_delay = 0.2
    nomad_sim.add_node("n1")
    nomad_sim.register_job_direct(job())
    nomad_sim.register_job_direct(job("other"))
    api = client(nomad_sim)
    mine = api.allocations.get_allocations(filter_='JobID == "web" and ClientStatus == "pending"')
    assert [a["JobID"] for a in mine] == ["web"]
    time.sleep(0.25)
    assert {a["ClientStatus"] for a in api.job.get_allocations("web")} == {"running"}
