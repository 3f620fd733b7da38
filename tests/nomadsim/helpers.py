"""Small builders shared by the simulator's conformance tests."""

from __future__ import annotations

from typing import Any

import nomad
import requests

from tests.nomadsim import NomadSim


def client(sim: NomadSim, **kwargs: Any) -> nomad.Nomad:
    return nomad.Nomad(address=sim.address, timeout=kwargs.pop("timeout", 2), **kwargs)


def raw(sim: NomadSim, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, sim.address + path, timeout=2, **kwargs)


def task(image: str = "localai:v1", **extra: Any) -> dict[str, Any]:
    return {"Name": "server", "Driver": "docker", "Config": {"image": image}, **extra}


def job(job_id: str = "web", type_: str = "service", count: int | None = 1,
        constraints: list[dict[str, Any]] | None = None, image: str = "localai:v1",
        group: dict[str, Any] | None = None, task_extra: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"Name": "g", "Tasks": [task(image, **(task_extra or {}))], "Constraints": constraints,
                            **(group or {})}
    if count is not None:
        body["Count"] = count
    return {"ID": job_id, "Type": type_, "TaskGroups": [body], **extra}


def rule(left: str, operand: str, right: str = "") -> dict[str, str]:
    return {"LTarget": left, "Operand": operand, "RTarget": right}


def tier(value: str) -> dict[str, str]:
    return rule("${meta.tier}", "=", value)


def live(sim: NomadSim, job_id: str = "web") -> list[tuple[str, str]]:
    """(node name, alloc name) of the live allocations, sorted."""
    return sorted((a["NodeName"], a["Name"]) for a in sim.allocations(job_id))


def ids(sim: NomadSim, job_id: str = "web") -> set[str]:
    return {a["ID"] for a in sim.allocations(job_id)}


def register(sim: NomadSim, body: dict[str, Any], **params: Any) -> requests.Response:
    return raw(sim, "POST", "/v1/jobs", json={"Job": body}, params=params)


def plan(sim: NomadSim, body: dict[str, Any]) -> dict[str, int]:
    reply = raw(sim, "POST", f"/v1/job/{body['ID']}/plan", json={"Job": body, "Diff": True})
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["Annotations"]["DesiredTGUpdates"]["g"])
