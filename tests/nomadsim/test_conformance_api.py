"""Conformance of the simulator's API rules with Nomad's source (one test per rule; see README.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.nomadsim import NomadSim
from tests.nomadsim.helpers import client, job, raw, register, rule


def test_constraints_without_rtarget_or_ltarget_are_refused_with_nested_multierror_text(nomad_sim: NomadSim) -> None:
    """Follows nomad/structs/structs.go Constraint.Validate, nested by TaskGroup.Validate and Job.Validate,
    flattened by nomad/job_endpoint_hooks.go admissionValidators (go-multierror ListFormatFunc), HTTP 500."""
    reply = register(nomad_sim, job(constraints=[rule("${meta.tier}", "=")]))
    assert reply.status_code == 500
    assert reply.text == (
        "1 error occurred:\n\t* Task group g validation failed: 1 error occurred:\n"
        "\t* Constraint 1 validation failed: 1 error occurred:\n\t* Operator \"=\" requires an RTarget\n\n\n\n\n\n"
    )
    reply = register(nomad_sim, job(Constraints=[rule("", "set_contains_any")]))
    assert reply.status_code == 500
    assert reply.text == (
        "1 error occurred:\n\t* Constraint 1 validation failed: 2 errors occurred:\n"
        "\t* Set contains constraint requires an RTarget\n\t* no attribute provided but is required by operator\n\n\n\n"
    )


def test_a_double_quoted_filter_cannot_escape_a_quote_but_a_raw_string_can_hold_one(nomad_sim: NomadSim) -> None:
    """Follows go-bexpr grammar/grammar.peg StringLiteral/DoubleStringChar (+ strconv.Unquote) and
    nomad/node_endpoint.go List (NewPaginator error coded 400)."""
    wanted = nomad_sim.add_node("n1", meta={"tier": 'a"b'})
    nomad_sim.add_node("n2", meta={"tier": "a\\"})
    reply = raw(nomad_sim, "GET", "/v1/nodes", params={"filter": 'Meta.tier == "a\\"b"'})
    assert reply.status_code == 400
    assert reply.text.startswith("failed to create result paginator: failed to read filter expression: ")
    found = raw(nomad_sim, "GET", "/v1/nodes", params={"filter": 'Meta.tier == `a"b`'}).json()
    assert [node["ID"] for node in found] == [wanted]
    backslash = raw(nomad_sim, "GET", "/v1/nodes", params={"filter": 'Meta.tier == "a\\\\"'}).json()
    assert [node["Name"] for node in backslash] == ["n2"]


def test_check_index_conflicts_carry_nomads_text_and_the_rpc_prefix_through_a_client_agent() -> None:
    """Follows nomad/structs/job.go Job.EnforceIndex and helper/pool/pool.go ConnPool.RPC (plain errors are
    wrapped `rpc error: `, RPC-coded errors are not); command/agent/http.go wrap answers 500."""
    with NomadSim(forwarded=True) as sim:
        first = register(sim, job()).json()["JobModifyIndex"]
        body = {"Job": job(image="v2"), "EnforceIndex": True, "JobModifyIndex": first + 5}
        reply = raw(sim, "POST", "/v1/job/web", json=body)
        assert (reply.status_code, reply.text) == (
            500, f"rpc error: Enforcing job modify index {first + 5}: job exists with conflicting job modify index: "
                 f"{first}")
        reply = raw(sim, "POST", "/v1/job/other", json={"Job": job("other"), "EnforceIndex": True,
                                                         "JobModifyIndex": 3})
        assert reply.text == "rpc error: Enforcing job modify index 3: job does not exist"
        assert raw(sim, "POST", "/v1/job/web", json={"Job": job("x")}).text == "Job ID does not match name"
        sim.set_forwarded(False)
        reply = raw(sim, "POST", "/v1/job/web", json={"Job": job(), "EnforceIndex": True, "JobModifyIndex": 0})
        assert reply.text == "Enforcing job modify index 0: job already exists"


def test_groups_with_nomad_services_get_the_service_discovery_constraint(nomad_sim: NomadSim) -> None:
    """Follows nomad/job_endpoint_hooks.go jobImpliedConstraints.Mutate (mutator, constraintMatcherFull) with
    nomad/structs/job.go RequiredNativeServiceDiscovery: group or task services with Provider "nomad"."""
    nomad_sim.add_node("plain")
    nomad_sim.add_node("no-nsd", attributes={"nomad.service_discovery": "false"})
    body = job(count=2, task_extra={"Services": [{"Name": "api", "Provider": "nomad"}]})
    register(nomad_sim, body)
    stored = nomad_sim.job("web")
    assert stored is not None
    assert stored["TaskGroups"][0]["Constraints"] == [rule("${attr.nomad.service_discovery}", "=", "true")]
    assert {a["NodeName"] for a in nomad_sim.allocations("web")} == {"plain"}
    consul = job("c", group={"Services": [{"Name": "api"}]})  # Provider defaults to consul
    register(nomad_sim, consul)
    assert nomad_sim.job("c")["TaskGroups"][0]["Constraints"] == [  # type: ignore[index]
        rule("${attr.consul.version}", "semver", ">= 1.8.0")]
    assert nomad_sim.allocations("c") == []  # no node runs a Consul agent


@pytest.mark.parametrize(
    "body, status, text",
    [
        (job(group={"Services": [{"Name": "my_api", "Provider": "nomad"}]}), 500,
         "1 error occurred:\n\t* Task group g validation failed: 1 error occurred:\n"
         "\t* Task group service validation failed: 1 error occurred:\n"
         "\t* Service[0] my_api validation failed: 1 error occurred:\n"
         "\t* Service name must be valid per RFC 1123 and can contain only alphanumeric characters or dashes and "
         "must be no longer than 63 characters: \"my_api\"\n\n\n\n\n\n\n\n"),
        (job(NodePool="gpu"), 500, '1 error occurred:\n\t* job "web" is in nonexistent node pool "gpu"\n\n'),
        (job(Namespace="ml"), 500, '1 error occurred:\n\t* job "web" is in nonexistent namespace "ml"\n\n'),
        (job(count=None, group={"Count": "2"}), 400,
         "json: cannot unmarshal string into Go struct field TaskGroup.Job.TaskGroups.Count of type int"),
    ],
    ids=["service name", "node pool", "namespace", "json type"],
)
def test_service_names_pools_namespaces_and_json_types_are_checked(
        nomad_sim: NomadSim, body: dict[str, Any], status: int, text: str) -> None:
    """Follows nomad/structs/services.go Service.ValidateName, nomad/job_endpoint_hook_node_pool.go
    jobNodePoolValidatingHook.Validate, nomad/job_endpoint_validators.go jobNamespaceConstraintCheckHook.Validate
    and command/agent/job_endpoint.go jobUpdate (decodeBody error -> CodedError 400)."""
    reply = register(nomad_sim, body)
    assert (reply.status_code, reply.text) == (status, text)


def test_system_jobs_refuse_scaling_blocks_with_400_and_counts_above_one_with_500(nomad_sim: NomadSim) -> None:
    """Follows command/agent/job_endpoint.go jobUpdate (GH-8481, CodedError 400) and nomad/structs/structs.go
    Job.Validate (system count)."""
    scaled = job(type_="system", group={"Scaling": {"Min": 0, "Max": 1}})
    reply = register(nomad_sim, scaled)
    assert (reply.status_code, reply.text) == (400, "Task groups with job type system do not support scaling blocks")
    reply = register(nomad_sim, job(type_="system", count=2))
    assert reply.status_code == 500
    assert reply.text == ("1 error occurred:\n\t* Job task group g has count 2. "
                          "Count cannot exceed 1 with system scheduler\n\n")


def test_the_namespace_query_parameter_beats_the_body(nomad_sim: NomadSim) -> None:
    """Follows command/agent/job_endpoint.go apiJobAndRequestToStructs / namespaceForJob: query param, then the
    request's Namespace, then Job.Namespace."""
    for name in ("a", "b", "c"):
        nomad_sim.add_namespace(name)
    register(nomad_sim, job(Namespace="a"), namespace="b")
    assert nomad_sim.job("web", namespace="b") is not None and nomad_sim.job("web", namespace="a") is None
    raw(nomad_sim, "POST", "/v1/jobs", json={"Job": job("w2", Namespace="a"), "Namespace": "c"})
    assert nomad_sim.job("w2", namespace="c") is not None


def test_job_list_meta_follows_the_reported_version(nomad_sim: NomadSim) -> None:
    """Follows command/agent/job_endpoint.go jobListRequest (`meta`, GH-14833, first released in v1.5.0) and
    command/agent/agent_endpoint.go agentSelf (config.Version.Version, member.Tags["build"])."""
    register(nomad_sim, job(Meta={"owner": "modelsched"}))
    for version, has_meta in (("1.4.14", False), ("1.5.0", True)):
        nomad_sim.set_version(version)
        me = client(nomad_sim).agent.get_agent()
        assert (me["config"]["Version"]["Version"], me["member"]["Tags"]["build"]) == (version, version)
        stub = raw(nomad_sim, "GET", "/v1/jobs", params={"meta": "true"}).json()[0]
        assert ("Meta" in stub) is has_meta


def test_scaling_a_job_makes_a_new_version_and_updates_in_place(nomad_sim: NomadSim) -> None:
    """Follows nomad/job_endpoint.go Job.Scale (JobRegisterRequestType raft apply: Version + 1, new
    JobModifyIndex; Scaling.Min/Max bounds coded 400) and command/agent/job_endpoint.go jobScaleAction."""
    nomad_sim.add_node("n1")
    register(nomad_sim, job(count=1, group={"Scaling": {"Min": 1, "Max": 3, "Enabled": True}}))
    before = nomad_sim.job("web")
    (first,) = nomad_sim.allocations("web")
    reply = raw(nomad_sim, "POST", "/v1/job/web/scale", json={"Count": 2, "Target": {"Group": "g"}})
    assert reply.status_code == 200 and reply.json()["EvalID"]
    after = nomad_sim.job("web")
    assert after is not None and before is not None
    assert (after["Version"], after["TaskGroups"][0]["Count"]) == (before["Version"] + 1, 2)
    assert after["JobModifyIndex"] > before["JobModifyIndex"]
    allocs = nomad_sim.allocations("web")
    assert first["ID"] in {a["ID"] for a in allocs} and len(allocs) == 2
    assert nomad_sim.scale_job("web", 1)["JobModifyIndex"] > after["JobModifyIndex"]
    reply = raw(nomad_sim, "POST", "/v1/job/web/scale", json={"Count": 4, "Target": {"Group": "g"}})
    assert (reply.status_code, reply.text) == (400, "group count was greater than scaling policy maximum: 4 > 3")


def test_reading_an_evaluation_is_authorised_against_the_request_namespace() -> None:
    """Follows nomad/eval_endpoint.go Eval.GetEval (request namespace, then the eval's namespace)."""
    with NomadSim(acl_tokens={"root"}, namespace_tokens={"ml-token": {"ml"}}) as sim:
        sim.add_namespace("ml")
        headers = {"X-Nomad-Token": "ml-token"}
        reply = raw(sim, "POST", "/v1/jobs", json={"Job": job()}, params={"namespace": "ml"}, headers=headers)
        eval_id = reply.json()["EvalID"]
        denied = raw(sim, "GET", f"/v1/evaluation/{eval_id}", headers=headers)
        assert (denied.status_code, denied.text) == (403, "Permission denied")
        ok = raw(sim, "GET", f"/v1/evaluation/{eval_id}", params={"namespace": "ml"}, headers=headers)
        assert ok.status_code == 200 and ok.json()["Namespace"] == "ml"
        assert raw(sim, "GET", f"/v1/evaluation/{eval_id}", headers={"X-Nomad-Token": "root"}).status_code == 200
        assert raw(sim, "POST", "/v1/jobs", json={"Job": job("x")}, headers=headers).status_code == 403
