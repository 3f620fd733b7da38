"""NomadSim behaves like the Nomad facts in /work/shared/NOMAD.md, through python-nomad over HTTP."""

from __future__ import annotations

import threading
import time
from typing import Any

import nomad
import pytest
import requests
from nomad.api import exceptions as nx

from tests.nomadsim import NomadSim
from tests.nomadsim.fixtures import ACL_TOKEN


def client(sim: NomadSim, **kwargs: Any) -> nomad.Nomad:
    return nomad.Nomad(address=sim.address, timeout=kwargs.pop("timeout", 2), **kwargs)


def task(image: str = "localai:v1") -> dict[str, Any]:
    return {"Name": "server", "Driver": "docker", "Config": {"image": image}}


def job(job_id: str = "web", type_: str = "service", count: int | None = 1,
        constraints: list[dict[str, Any]] | None = None, image: str = "localai:v1", **extra: Any) -> dict[str, Any]:
    group: dict[str, Any] = {"Name": "g", "Tasks": [task(image)], "Constraints": constraints}
    if count is not None:
        group["Count"] = count
    return {"ID": job_id, "Type": type_, "TaskGroups": [group], **extra}


def tier(value: str) -> dict[str, Any]:
    return {"LTarget": "${meta.tier}", "RTarget": value, "Operand": "="}


def live_nodes(sim: NomadSim, job_id: str) -> list[str]:
    return sorted(a["NodeName"] for a in sim.allocations(job_id))


def raw(sim: NomadSim, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, sim.address + path, timeout=2, **kwargs)


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
        (job(type_="system", count=2), "Only count of 1 is supported with system scheduler"),
        ({**job(type_="system"), "Spreads": [{"Attribute": "${node.datacenter}"}]}, "spread"),
        ({"ID": "web", "TaskGroups": []}, "Missing job task groups"),
        ({"TaskGroups": [{"Name": "g", "Tasks": [task()]}]}, "Missing job ID"),
    ],
    ids=["system count above one", "system spread", "no task groups", "no ID"],
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
    gpu = nomad_sim.add_node("n1", meta={"tier": 'g"p\\u'})
    nomad_sim.add_node("n2", meta={"tier": "cpu"}, node_class="big")
    api = client(nomad_sim)
    stubs = api.nodes.get_nodes()
    assert len(stubs) == 2 and all("Meta" not in stub for stub in stubs)
    for expression in ('Meta.tier == "g\\"p\\\\u"', 'Meta["tier"] == "g\\"p\\\\u"', 'Meta.tier == `g"p\\u`'):
        assert [s["ID"] for s in api.nodes.get_nodes(filter_=expression)] == [gpu]
    both = api.nodes.get_nodes(filter_='(NodeClass == "big" and Status == "ready") or Meta.tier != "cpu"')
    assert len(both) == 2
    assert api.node.get_node(gpu)["Meta"] == {"tier": 'g"p\\u'}


def test_a_malformed_filter_is_a_400_like_nomads(nomad_sim: NomadSim) -> None:
    with pytest.raises(nx.BadRequestNomadException) as raised:
        client(nomad_sim).nodes.get_nodes(filter_='Meta.tier == "unterminated')
    assert raised.value.nomad_resp.text.startswith("failed to read filter expression:")


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
    assert live_nodes(nomad_sim, "web") == ["n1"]
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


# -- HTTP behaviour -----------------------------------------------------------------------------


def test_responses_carry_the_index_and_blocking_queries_wait_for_a_write(nomad_sim: NomadSim) -> None:
    response = raw(nomad_sim, "GET", "/v1/nodes")
    index = int(response.headers["X-Nomad-Index"])
    assert response.headers["Content-Type"] == "application/json"
    started = time.monotonic()
    assert raw(nomad_sim, "GET", "/v1/nodes", params={"index": index, "wait": "200ms"}).status_code == 200
    assert 0.15 < time.monotonic() - started < 1.0
    assert raw(nomad_sim, "GET", "/v1/nodes", params={"index": 0}).status_code == 200


def test_acl_refuses_a_missing_or_wrong_token_with_403(nomad_sim_acl: NomadSim) -> None:
    with pytest.raises(nx.URLNotAuthorizedNomadException) as raised:
        client(nomad_sim_acl).nodes.get_nodes()
    assert raised.value.nomad_resp.text == "Permission denied"
    with pytest.raises(nx.URLNotAuthorizedNomadException):
        client(nomad_sim_acl, token="wrong").nodes.get_nodes()
    assert client(nomad_sim_acl, token=ACL_TOKEN).nodes.get_nodes() == []
    bearer = {"Authorization": f"Bearer {ACL_TOKEN}"}
    assert raw(nomad_sim_acl, "GET", "/v1/nodes", headers=bearer).status_code == 200


def test_injected_failures_apply_to_matching_requests_only(nomad_sim: NomadSim) -> None:
    api = client(nomad_sim)
    nomad_sim.fail(times=1, status=503, body="no leader", path_prefix="/v1/jobs")
    assert api.nodes.get_nodes() == []
    with pytest.raises(nx.BaseNomadException) as raised:
        api.jobs.get_jobs()
    assert (raised.value.nomad_resp.status_code, raised.value.nomad_resp.text) == (503, "no leader")
    assert api.jobs.get_jobs() == []
    assert [path for _, path, _ in nomad_sim.requests] == ["/v1/nodes", "/v1/jobs", "/v1/jobs"]


def test_an_injected_delay_trips_the_client_timeout(nomad_sim: NomadSim) -> None:
    nomad_sim.delay(0.5, method="GET")
    with pytest.raises(nx.BaseNomadException) as raised:
        client(nomad_sim, timeout=0.1).nodes.get_nodes()
    assert isinstance(raised.value.nomad_resp, requests.exceptions.Timeout)


def test_a_dropped_connection_and_a_down_server_are_connection_errors(nomad_sim: NomadSim) -> None:
    nomad_sim.drop()
    with pytest.raises(nx.BaseNomadException) as raised:
        client(nomad_sim).nodes.get_nodes()
    assert isinstance(raised.value.nomad_resp, requests.exceptions.ConnectionError)
    nomad_sim.set_down(True)
    with pytest.raises(nx.BaseNomadException):
        client(nomad_sim).nodes.get_nodes()
    nomad_sim.set_down(False)
    assert client(nomad_sim).nodes.get_nodes() == []


def test_a_write_wakes_a_blocking_query_early(nomad_sim: NomadSim) -> None:
    index = int(raw(nomad_sim, "GET", "/v1/nodes").headers["X-Nomad-Index"])
    timer = threading.Timer(0.05, nomad_sim.add_node, args=("n1",))
    timer.start()
    response = raw(nomad_sim, "GET", "/v1/nodes", params={"index": index, "wait": "5s"})
    timer.join()
    assert int(response.headers["X-Nomad-Index"]) > index and len(response.json()) == 1


def test_the_namespace_query_param_scopes_jobs(nomad_sim: NomadSim) -> None:
    api = nomad.Nomad(address=nomad_sim.address, timeout=2, namespace="ml")
    api.jobs.register_job({"Job": job()})
    assert nomad_sim.job("web", namespace="ml") is not None and nomad_sim.job("web") is None
    assert [stub["Namespace"] for stub in client(nomad_sim).jobs.get_jobs(namespace="*")] == ["ml"]
