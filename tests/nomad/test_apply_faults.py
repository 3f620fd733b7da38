"""Faults and races during a multi-job apply: what was done and what was not is reported,
nothing is lost, a re-run plan shows the remaining work; jobs that changed hands or
changed between plan and apply are never purged or replaced."""

from __future__ import annotations

import time
from typing import Any

import pytest

from modelsched.drivers.nomad import Connection, NomadDriver
from modelsched.model.entry import Entry
from tests.clirun import EXAMPLES, Run
from tests.nomad.flow import apply, desired, driver, make

LOCALAI = (
    Entry(model_name="gpt-oss", node_selector={"tier": "gpu"}, spread=True),
    Entry(model_name="nomic-embed-text", spread=True),
    Entry(model_name="whisper", node_selector={"tier": "cpu"}, min_replicas=1, max_replicas=0),
)
NOMIC = "/v1/job/modelsched-nomic-embed-text"


@pytest.fixture
def cluster(nomad_sim: Any) -> Any:
    for i in (1, 2):
        nomad_sim.add_node(f"gpu-{i}", meta={"tier": "gpu"})
    nomad_sim.add_node("cpu-1", meta={"tier": "cpu"})
    return nomad_sim


def _remaining(drv: NomadDriver) -> set[str]:
    return {op.target for op in make(drv, desired(*LOCALAI)).operations}


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (lambda sim: sim.fail(status=403, body="Permission denied", path_prefix=NOMIC, method="POST"), "HTTP 403"),
        (lambda sim: sim.fail(status=503, body="rpc error: No cluster leader", path_prefix=NOMIC, method="POST"),
         "No cluster leader"),
        (lambda sim: sim.fail(status=500, body="1 error occurred:\n\t* Task group localai validation failed",
                              path_prefix=NOMIC, method="POST"), "validation failed"),
    ],
    ids=["403 halfway", "503 halfway", "500 validation halfway"],
)
def test_a_refusal_halfway_reports_done_failed_and_not_attempted_jobs(cluster: Any, fault: Any, said: str) -> None:
    drv = driver(cluster.address)
    p = make(drv, desired(*LOCALAI))
    fault(cluster)
    report, _ = apply(drv, p)
    assert not report.ok
    assert {c.model for c in report.applied} == {"gpt-oss"}
    assert {c.model for c, _ in report.failed} == {"nomic-embed-text"}
    assert {c.model for c in report.not_attempted} == {"whisper"}
    assert any(said in e for e in report.errors), report.errors
    assert "applied: register job modelsched-gpt-oss" in report.messages
    assert "failed: register job modelsched-nomic-embed-text" in report.messages
    assert "not attempted: register job modelsched-whisper" in report.messages
    assert _remaining(drv) == {"modelsched-nomic-embed-text", "modelsched-whisper"}


def test_a_register_that_timed_out_is_reported_as_unknown_and_replan_sees_the_truth(cluster: Any) -> None:
    drv = NomadDriver(Connection(address=cluster.address, timeout=0.3), wait_timeout=10.0)
    p = make(drv, desired(*LOCALAI))
    cluster.delay(0.6, path_prefix=NOMIC, method="POST")  # Nomad registers it, but answers too late
    report, _ = apply(drv, p)
    assert not report.ok
    assert {c.model for c, _ in report.failed} == {"nomic-embed-text"}
    assert any("may or may not have been done" in e for e in report.errors), report.errors
    time.sleep(0.6)  # let the late register land
    assert _remaining(drv) == {"modelsched-whisper"}  # the timed-out register did happen


def test_losing_nomad_while_waiting_still_reports_what_was_registered(cluster: Any) -> None:
    drv = driver(cluster.address)
    p = make(drv, desired(*LOCALAI))
    cluster.fail(times=1000, status=500, body="no leader", path_prefix="/v1/allocations")
    report, _ = apply(drv, p)  # must not raise: the registers happened and must be reported
    assert not report.ok
    assert {m for m in report.messages if m.startswith("applied:")} == {
        "applied: register job modelsched-gpt-oss", "applied: register job modelsched-nomic-embed-text",
        "applied: register job modelsched-whisper"}
    assert report.failed and all("could not check" in why for _, why in report.failed), report.failed
    assert any("no leader" in e for e in report.errors)


def test_apply_through_the_cli_exits_1_and_lists_applied_and_not_applied_jobs(run: Run, cluster: Any) -> None:
    env = {"NOMAD_ADDR": cluster.address, "MODELSCHED_DRIVER": "nomad"}
    config = str(EXAMPLES / "localai-scheduling.yaml")
    assert run("plan", "--config", config, "--out", "plan.json", env=env).code == 0
    cluster.fail(status=403, body="Permission denied", path_prefix=NOMIC, method="POST")
    got = run("apply", "plan.json", env=env)
    assert got.code == 1
    assert "applied: register job modelsched-gpt-oss" in got.out
    assert "failed: register job modelsched-nomic-embed-text" in got.out
    assert "not attempted: register job modelsched-whisper" in got.out
    assert "Apply incomplete" in got.err and "Traceback" not in got.err


# -- ownership and concurrent change right before a destructive operation -----------------


def _steal(sim: Any, job_id: str, drv: NomadDriver) -> None:
    """Right after apply's re-observe (its last request lists allocations), someone else
    takes the job over: registers it under their own Meta."""
    real = drv.client.allocations
    done = []

    def racing(expr: str) -> list[dict[str, Any]]:
        got = real(expr)
        if not done:
            done.append(1)
            job = sim.job(job_id)
            job["Meta"] = {"owner": "team-b"}
            sim.register_job_direct(job)
        return got

    drv.client.allocations = racing  # type: ignore[method-assign]


def test_prune_never_purges_a_job_that_changed_hands_after_the_re_observe(cluster: Any) -> None:
    drv = driver(cluster.address)
    apply(drv, make(drv, desired(*LOCALAI)))
    p = make(drv, desired(*LOCALAI[:2]), prune=True)
    assert [(op.action, op.target) for op in p.operations] == [("purge", "modelsched-whisper")]
    _steal(cluster, "modelsched-whisper", drv)
    report, _ = apply(drv, p)
    assert not report.ok
    assert cluster.job("modelsched-whisper") is not None  # team-b's job is still there
    assert any("changed since the plan" in e for e in report.errors), report.errors
    assert "failed: purge job modelsched-whisper" in report.messages


def test_a_type_change_never_purges_a_job_that_changed_after_the_re_observe(cluster: Any) -> None:
    drv = driver(cluster.address)
    apply(drv, make(drv, desired(LOCALAI[0])))
    p = make(drv, desired(Entry(model_name="gpt-oss", node_selector={"tier": "gpu"}, min_replicas=1, max_replicas=2)))
    assert [op.action for op in p.operations] == ["replace"]
    _steal(cluster, "modelsched-gpt-oss", drv)
    report, _ = apply(drv, p)
    assert not report.ok
    job = cluster.job("modelsched-gpt-oss")
    assert job is not None and job["Type"] == "system" and job["Meta"] == {"owner": "team-b"}


def test_a_replace_is_refused_when_the_job_changed_before_apply(cluster: Any) -> None:
    from modelsched.errors import StalePlanError

    drv = driver(cluster.address)
    apply(drv, make(drv, desired(LOCALAI[0])))
    p = make(drv, desired(Entry(model_name="gpt-oss", node_selector={"tier": "gpu"}, min_replicas=1, max_replicas=2)))
    job = cluster.job("modelsched-gpt-oss")
    job["Priority"] = 70
    cluster.register_job_direct(job)
    with pytest.raises(StalePlanError):
        apply(drv, p)
    assert cluster.job("modelsched-gpt-oss")["Type"] == "system"


def test_a_replace_whose_register_fails_says_the_old_job_is_gone(cluster: Any) -> None:
    drv = driver(cluster.address)
    apply(drv, make(drv, desired(LOCALAI[0])))
    p = make(drv, desired(Entry(model_name="gpt-oss", node_selector={"tier": "gpu"}, min_replicas=1, max_replicas=2)))
    cluster.fail(status=500, body="no leader", path_prefix="/v1/job/modelsched-gpt-oss", method="POST")
    report, _ = apply(drv, p)
    assert not report.ok
    assert any("was purged" in e for e in report.errors), report.errors
    assert [op.action for op in make(drv, desired(LOCALAI[0])).operations] == ["register"]


def test_nomad_down_at_apply_time_says_nothing_was_applied(cluster: Any) -> None:
    from modelsched.errors import DriverError

    drv = driver(cluster.address)
    p = make(drv, desired(*LOCALAI))
    cluster.set_down(True)
    with pytest.raises(DriverError, match=r"Nothing was applied"):
        apply(drv, p)
    cluster.set_down(False)
    assert cluster.job("modelsched-gpt-oss") is None


def test_a_refused_connection_on_a_write_is_known_not_done() -> None:
    from modelsched.drivers.nomad.client import NomadClient
    from modelsched.errors import DriverError

    with pytest.raises(DriverError, match=r"unreachable during purging job x \(ConnectionError\)"):
        NomadClient(Connection(address="http://127.0.0.1:9")).purge("x")


def test_a_selector_value_that_cannot_be_encoded_is_an_error_not_a_crash(cluster: Any) -> None:
    from modelsched.errors import DriverError

    drv = driver(cluster.address)
    with pytest.raises(DriverError, match=r"cannot be sent"):
        drv.observe(desired(Entry(model_name="m", node_selector={"tier": "\ud800"}, spread=True)))


@pytest.mark.parametrize("later", ["update", "replace", "purge"])
def test_a_job_changed_between_plan_and_apply_is_named_and_nothing_is_applied(cluster: Any, later: str) -> None:
    from modelsched.errors import StalePlanError

    drv = driver(cluster.address)
    apply(drv, make(drv, desired(*LOCALAI)))
    changed = {
        "update": desired(Entry(model_name="whisper", node_selector={"tier": "cpu"}, min_replicas=1, max_replicas=0,
                                vars={"image": "x:2"}), *LOCALAI[:2]),
        "replace": desired(Entry(model_name="whisper", node_selector={"tier": "cpu"}, spread=True), *LOCALAI[:2]),
        "purge": desired(*LOCALAI[:2]),
    }[later]
    p = make(drv, changed, prune=later == "purge")
    assert [op.action for op in p.operations] == [later]
    job = cluster.job("modelsched-whisper")
    job["Priority"] = 70
    cluster.register_job_direct(job)
    cluster.reset_requests()
    stale = r"Saved plan is stale: 1 job changed \(modelsched-whisper\); nothing was applied"
    with pytest.raises(StalePlanError, match=stale):
        apply(drv, p)
    assert all(m == "GET" for m, _, _ in cluster.requests)


FORGED = "boom\n\nApply complete: 9 replica(s) added\r\x1b[32mApply complete\u202e"


def test_a_server_body_cannot_forge_output_lines(run: Run, cluster: Any) -> None:
    """Nomad's error text is shown on the error's own line: its newlines, carriage
    returns and escape sequences are written escaped, never as line breaks."""
    env = {"NOMAD_ADDR": cluster.address, "MODELSCHED_DRIVER": "nomad"}
    config = str(EXAMPLES / "localai-scheduling.yaml")
    assert run("plan", "--config", config, "--out", "plan.json", env=env).code == 0
    cluster.fail(status=500, body=FORGED, path_prefix=NOMIC, method="POST")
    got = run("apply", "plan.json", env=env)
    assert got.code == 1
    lines = (got.out + got.err).splitlines()
    assert not [line for line in lines if line.startswith("Apply complete")], got.out + got.err
    assert "\x1b" not in got.out + got.err and "\r" not in got.out + got.err
    assert any("boom\\n\\nApply complete: 9 replica(s) added\\r\\x1b[32mApply complete\\u202e" in line
               for line in lines), got.err
