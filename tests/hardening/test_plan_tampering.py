"""A saved plan is untrusted input: attacks on real plan files and the promised outcome.

A plan travels as a CI artifact; anyone who can replace it must not be able to make
modelsched print forged lines, request another endpoint, or act on a plan that
contradicts itself. Each attack starts from a plan the real CLI just wrote, changes
one thing, and runs `show` and `apply` on it. Promise: exit 1, one message that names
the file and the place in it (`plan.json: corrupt plan file: changes[0].node: ...`),
no traceback, nothing changed on disk or in the cluster (no request at all).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import Run
from tests.hardening.plan_tampering_helpers import (
    NOMAD_CONFIG,
    local_plan,
    mixed_cluster,
    nomad_env,
    nomad_plan,
    outside,
    refused_once,
    save,
    writes,
)

Plan = dict[str, Any]
Edit = Callable[[Plan], None]


@pytest.fixture
def cli(request: pytest.FixtureRequest) -> Run:
    runner: Run = request.getfixturevalue("run")
    return runner


def first_add(p: Plan) -> dict[str, Any]:
    return next(c for c in p["changes"] if c["action"] == "add")


def setter(*path_then_value: Any) -> Edit:
    """setter("summary", "add", 7): set plan["summary"]["add"] = 7."""
    *path, value = path_then_value

    def edit(p: Plan) -> None:
        target: Any = p
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def on_first_add(key: str, value: Any) -> Edit:
    def edit(p: Plan) -> None:
        first_add(p)[key] = value

    return edit


def add_key(edit_path: tuple[Any, ...], key: str, value: Any) -> Edit:
    def edit(p: Plan) -> None:
        target: Any = p
        for part in edit_path:
            target = target[part]
        target[key] = value

    return edit


def drop(key: str) -> Edit:
    def edit(p: Plan) -> None:
        del p[key]

    return edit


# (attack, the edit, the located message it must give). Change 0 is the first addition.
LOCAL_ATTACKS = [
    pytest.param(
        on_first_add("node", "gpu-2\x1b[2J\x1b[H+ gpu-9"), "changes[0].node: contains the control character U+001B",
        id="a node name with terminal escapes that would clear the screen and forge a line",
    ),
    pytest.param(
        on_first_add("node", "gpu-2\n  + gpu-9  {tier=gpu}  spread"),
        "changes[0].node: contains the control character U+000A",
        id="a node name with a newline that would forge a plan line",
    ),
    pytest.param(
        on_first_add("model", "llm\u202e"), "changes[0].model: contains the control character U+202E",
        id="a model name with a right-to-left override",
    ),
    pytest.param(on_first_add("model", "  "), "changes[0].model: is blank", id="a blank model name"),
    pytest.param(
        on_first_add("node", "n" * 513), "changes[0].node: is longer than 512 characters",
        id="a node name longer than any name the config accepts",
    ),
    pytest.param(
        on_first_add("labels", {"tier": "gpu\x9b31m"}),
        'changes[0].labels["tier"]: contains the control character U+009B',
        id="a label value with a C1 control sequence introducer",
    ),
    pytest.param(
        on_first_add("labels", {"": "gpu"}), 'changes[0].labels[""]: label key label keys must be non-empty',
        id="an empty label key",
    ),
    pytest.param(
        on_first_add("note", "ok\x1b]8;;https://evil/\x07link"), "changes[0].note: contains the control character",
        id="a note with an OSC 8 hyperlink escape",
    ),
    pytest.param(
        on_first_add("extra", 1), "changes[0].extra: Unexpected keyword argument",
        id="an unknown key in a change",
    ),
    pytest.param(
        on_first_add("action", "destroy"), "changes[0].action: Input should be 'add' or 'remove'",
        id="an unknown change action",
    ),
    pytest.param(
        on_first_add("reason", "node_unknown"), 'changes[0].reason: "node_unknown" is not a reason to add',
        id="a removal reason on an addition",
    ),
    pytest.param(
        on_first_add("node_id", 7), "changes[0].node_id: Input should be a valid string",
        id="a node ID that is not a string",
    ),
    pytest.param(
        setter("summary", "add", "2"), "summary.add: Input should be a valid integer",
        id="a count written as a string",
    ),
    pytest.param(
        setter("summary", "add", True), "summary.add: Input should be a valid integer",
        id="a count written as a boolean",
    ),
    pytest.param(
        setter("summary", "add", 2.0), "summary.add: Input should be a valid integer",
        id="a count written as a float",
    ),
    pytest.param(
        setter("models", 0, "current", -1), "models[0].current: Input should be greater than or equal to 0",
        id="a negative count",
    ),
    pytest.param(
        setter("summary", "add", 7), "summary says 7 to add, 1 to remove, 0 to restart, but the changes",
        id="a summary that disagrees with the changes (the reviewer reads the summary)",
    ),
    pytest.param(
        setter("summary", "restart", 3), "summary says 2 to add, 1 to remove, 3 to restart",
        id="restarts in the summary that no operation makes",
    ),
    pytest.param(
        setter("targets", ["ghost"]), 'targets[0]: "ghost" is not a model of the plan',
        id="a target that is not a model of the plan",
    ),
    pytest.param(
        setter("targets", ["llm", "llm"]), 'targets[1]: "llm" is listed twice', id="a target listed twice",
    ),
    pytest.param(
        setter("unlisted", [{"model": "x\x1b", "replicas": 1, "nodes": 1}]),
        "unlisted[0].model: contains the control character U+001B",
        id="an unlisted model with an escape",
    ),
    pytest.param(
        setter("unlisted", [{"model": "x", "replicas": "1", "nodes": 1}]),
        "unlisted[0].replicas: Input should be a valid integer", id="an unlisted count that is a string",
    ),
    pytest.param(
        setter("operations", [{"model": "llm", "target": "llm", "action": "format", "detail": ""}]),
        "operations[0].action: Input should be 'register', 'update'",
        id="an unknown operation kind",
    ),
    pytest.param(
        setter("driver", "../local"), 'driver: "../local" is not a driver (local, nomad, localai)',
        id="an unknown driver",
    ),
    pytest.param(
        setter("generator", "modelsched\x1b[8m"), "generator: contains the control character U+001B",
        id="a generator with an escape",
    ),
    pytest.param(
        setter("cluster", "state", "/tmp/x\x00y"), 'cluster["state"]: contains the control character U+0000',
        id="a state path with a NUL",
    ),
    pytest.param(
        setter("desired_digest", "sha256:x y"), "desired_digest: is not a digest", id="a digest with a space",
    ),
    pytest.param(
        setter("diagnostics", [{"level": "warning", "model": None, "message": "\x1b[1Afake"}]),
        "diagnostics[0].message: contains the control character U+001B",
        id="a diagnostic that would move the cursor up",
    ),
    pytest.param(
        setter("diagnostics", [{"level": "fatal", "model": None, "message": "x"}]),
        "diagnostics[0].level: Input should be 'warning' or 'error'", id="an unknown diagnostic level",
    ),
    pytest.param(
        setter("observed_nodes", {"gpu-1": {"name": "gpu-1", "state": "zz", "replicas": "00"}}),
        'observed_nodes["gpu-1"].state: is not a short hash', id="an observed node digest that is not a hash",
    ),
    pytest.param(
        setter("nodes", 0, "name", "gpu-1\x1b[2J"), "nodes[0].name: contains the control character U+001B",
        id="a listed node whose name would clear the screen",
    ),
    pytest.param(
        setter("nodes", 0, "name", " "), "nodes[0].name: is blank", id="a listed node with a blank name",
    ),
    pytest.param(
        setter("nodes", 0, "labels", {"tier": "gpu\n+ forged"}),
        'nodes[0].labels["tier"]: contains the control character U+000A',
        id="a listed node label with a newline",
    ),
    pytest.param(
        setter("nodes", 0, "kept", {"llm": -1}), "nodes[0].kept.llm: Input should be greater than or equal to 0",
        id="a negative kept count",
    ),
    pytest.param(
        setter("nodes", 0, "kept", {"llm": 2**31}), "nodes[0].kept.llm: Input should be less than or equal to",
        id="a kept count beyond what a backend counts",
    ),
    pytest.param(
        setter("nodes", 0, "kept", {"llm": "1"}), "nodes[0].kept.llm: Input should be a valid integer",
        id="a kept count written as a string",
    ),
    pytest.param(
        setter("nodes", 0, "kept", {"llm\u202e": 1}), 'nodes[0].kept["llm\\u202e"]: contains the control character',
        id="a kept model name with a right-to-left override",
    ),
    pytest.param(
        add_key(("nodes", 0), "drain", True), "nodes[0].drain: Unexpected keyword argument",
        id="an unknown key in a listed node",
    ),
    pytest.param(
        lambda p: p["nodes"].append(dict(p["nodes"][0])), 'is listed twice',
        id="a node listed twice",
    ),
    pytest.param(drop("driver"), "driver: Field required", id="a missing driver"),
    pytest.param(
        add_key((), "commands", ["rm -rf /"]), "commands: Extra inputs are not permitted",
        id="an unknown top-level key",
    ),
    pytest.param(
        setter("format_version", "1"), 'plan file has format_version "1"', id="a format version as a string",
    ),
]


@pytest.mark.parametrize(("edit", "message"), LOCAL_ATTACKS)
def test_tampered_local_plans_are_refused_and_change_nothing(
    cli: Run, tmp_path: Path, edit: Edit, message: str
) -> None:
    plan = local_plan(cli, tmp_path)
    state = (tmp_path / "cluster.yaml").read_bytes()
    edit(plan)
    save(tmp_path, plan)
    for command in (("show", "plan.json"), ("apply", "plan.json")):
        error = refused_once(cli(*command))
        assert error.startswith("Error: plan.json: "), error
        assert message in error, error
        assert "\x1b" not in error and "\n" not in error and "\u202e" not in error
    assert (tmp_path / "cluster.yaml").read_bytes() == state


def test_the_untampered_local_plan_applies(cli: Run, tmp_path: Path) -> None:
    """The control for the attacks above: the same plan, unchanged, is accepted."""
    local_plan(cli, tmp_path)
    assert cli("show", "plan.json").code == 0
    applied = cli("apply", "plan.json")
    assert applied.code == 0, applied.err
    assert "{model: llm, node: gpu-2}" in (tmp_path / "cluster.yaml").read_text()


def test_local_node_names_may_hold_what_a_url_could_not(cli: Run, tmp_path: Path) -> None:
    """Local node IDs are node names and never reach a URL: `rack/1?a#b` stays valid."""
    (tmp_path / "cluster.yaml").write_text("nodes:\n  - {name: 'rack/1?a#b%', labels: {tier: gpu}}\nreplicas: []\n")
    (tmp_path / "sched.yaml").write_text("- {model_name: llm, node_selector: {tier: gpu}, replicas: all}\n")
    assert cli("plan", "--config", "sched.yaml", "--out", "plan.json").code == 0
    applied = cli("apply", "plan.json")
    assert applied.code == 0, applied.err
    assert "rack/1?a#b%" in (tmp_path / "cluster.yaml").read_text()


def test_many_problems_are_listed_first_five_then_counted(cli: Run, tmp_path: Path) -> None:
    plan = local_plan(cli, tmp_path)
    for change in plan["changes"]:
        change["node"] = "x\x1b"
    plan["generator"] = "\x1b"
    plan["targets"] = ["a", "b", "c", "d"]
    save(tmp_path, plan)
    error = refused_once(cli("show", "plan.json"))
    assert error.count("contains the control character") + error.count("is not a model") == 5
    assert error.endswith("problems)") and "(and " in error


PATH_LIKE = ["../x", "a/b", "?", "#", "%2e%2e", "..", "x?y=1", "a#b", "job%2Fother"]


def nomad_attacks() -> list[Any]:
    attacks = []
    for bad in PATH_LIKE:
        attacks.append(
            pytest.param(
                lambda p, bad=bad: first_add(p).__setitem__("node_id", bad),
                "changes[0].node_id: ",
                id=f"a node ID {bad!r} that would leave its path segment",
            )
        )
        if bad == "..":
            continue  # "modelsched-.." is one safe path segment (a model may be named "..")
        attacks.append(
            pytest.param(
                lambda p, bad=bad: p["operations"][0].__setitem__("target", "modelsched-" + bad),
                "operations[0].target: ",
                id=f"an operation on job {'modelsched-' + bad!r}",
            )
        )
    attacks.append(
        pytest.param(
            setter("observed_nodes", {"../../v1/acl": {"name": "n", "state": "0", "replicas": "0"}}),
            'observed_nodes["../../v1/acl"]: ',
            id="an observed node whose ID is a path",
        )
    )
    attacks.append(
        pytest.param(
            lambda p: p["operations"][0].__setitem__("restarts", -1),
            "operations[0].restarts: Input should be greater than or equal to 0",
            id="negative restarts",
        )
    )
    return attacks


@pytest.mark.parametrize(("edit", "message"), nomad_attacks())
def test_tampered_nomad_plans_are_refused_before_any_request(
    cli: Run, nomad_sim: Any, tmp_path: Path, edit: Edit, message: str
) -> None:
    mixed_cluster(nomad_sim)
    plan = nomad_plan(cli, nomad_sim, tmp_path)
    edit(plan)
    save(tmp_path, plan)
    nomad_sim.reset_requests()
    for command in (("show", "plan.json"), ("apply", "plan.json")):
        error = refused_once(cli(*command, env=nomad_env(nomad_sim)))
        assert error.startswith("Error: plan.json: corrupt plan file: ") and message in error, error
    assert nomad_sim.requests == []
    assert nomad_sim.job("modelsched-gpt-oss") is None


def test_the_untampered_nomad_plan_applies(cli: Run, nomad_sim: Any, tmp_path: Path) -> None:
    mixed_cluster(nomad_sim)
    nomad_plan(cli, nomad_sim, tmp_path)
    applied = cli("apply", "plan.json", env=nomad_env(nomad_sim))
    assert applied.code == 0, applied.err
    assert nomad_sim.job("modelsched-gpt-oss") is not None


def test_a_rendered_job_whose_id_is_a_path_reaches_no_other_endpoint(
    cli: Run, nomad_sim: Any, tmp_path: Path
) -> None:
    mixed_cluster(nomad_sim)
    plan = nomad_plan(cli, nomad_sim, tmp_path)
    ops = plan["driver_data"]["jobs"]
    op = ops[0] if isinstance(ops, list) else ops[sorted(ops)[0]]
    op["job"]["ID"] = "../../v1/acl/bootstrap"
    save(tmp_path, plan)
    nomad_sim.reset_requests()
    refused_once(cli("apply", "plan.json", env=nomad_env(nomad_sim)))
    assert outside(nomad_sim.requests) == [] and writes(nomad_sim.requests) == []


def test_a_rendered_job_edited_with_a_recomputed_digest_is_refused_when_the_config_is_given(
    cli: Run, nomad_sim: Any, tmp_path: Path
) -> None:
    """The jobs digest catches an edit that forgot it; an attacker who recomputes it is caught
    by re-rendering from the config, which a pipeline passes to `apply PLANFILE`."""
    from modelsched.drivers.nomad.jobops import digest

    mixed_cluster(nomad_sim)
    plan = nomad_plan(cli, nomad_sim, tmp_path)
    op = plan["driver_data"]["jobs"][0]
    op["job"]["TaskGroups"][0]["Tasks"][0]["Config"]["image"] = "evil/image:latest"
    plan["driver_data"]["jobs_digest"] = digest(plan["driver_data"]["jobs"])
    save(tmp_path, plan)
    nomad_sim.reset_requests()
    message = refused_once(cli("apply", "plan.json", "--config", NOMAD_CONFIG, env=nomad_env(nomad_sim)))
    assert "differ from the jobs the config renders now" in message
    assert op["job_id"] in message
    assert writes(nomad_sim.requests) == []
