"""Test-facing helpers of NomadSim that change the cluster behind the API's back.

Nodes (join, leave, Meta, status, eligibility, drain), namespaces and node pools, the
agent version, direct job registration, `nomad job scale`, `nomad alloc stop`, and
read-only views of jobs, allocations, evaluations and deployments. Mixed into NomadSim.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from tests.nomadsim import rollout, scheduler
from tests.nomadsim.api import Api
from tests.nomadsim.state import State


class Cluster:
    state: State
    api: Api

    # -- timing knobs -------------------------------------------------------------------
    @property
    def alloc_start_delay(self) -> float:
        return self.state.alloc_start_delay

    @alloc_start_delay.setter
    def alloc_start_delay(self, seconds: float) -> None:
        # > 0: new allocations are "pending" for this long, then "running".
        self.state.alloc_start_delay = seconds

    @property
    def alloc_healthy_delay(self) -> float:
        return self.state.alloc_healthy_delay

    @alloc_healthy_delay.setter
    def alloc_healthy_delay(self, seconds: float) -> None:
        # A running allocation counts as healthy for its deployment after this long (rolling updates).
        self.state.alloc_healthy_delay = seconds

    @property
    def index(self) -> int:
        return self.state.index

    # -- agent -------------------------------------------------------------------------
    def set_version(self, version: str) -> None:
        """The Nomad version /v1/agent/self reports; version-dependent answers follow it."""
        with self.state.lock:
            self.state.version = version

    def set_forwarded(self, forwarded: bool) -> None:
        """Answer as a client agent / non-leader server: plain RPC errors get the `rpc error: ` prefix."""
        self.api.rpc_prefix = "rpc error: " if forwarded else ""

    def add_namespace(self, name: str) -> None:
        with self.state.lock:
            self.state.namespaces.add(name)
            self.state.bump()

    def add_node_pool(self, name: str) -> None:
        with self.state.lock:
            self.state.node_pools.add(name)
            self.state.bump()

    # -- nodes ---------------------------------------------------------------------------
    def add_node(self, name: str, meta: dict[str, str] | None = None, node_class: str = "",
                 datacenter: str = "dc1", pool: str = "default", status: str = "ready", eligible: bool = True,
                 drain: bool = False, node_id: str | None = None, attributes: dict[str, str] | None = None) -> str:
        """A client node. Default attributes: linux/amd64 with Nomad service discovery, no Consul (add
        `consul.version` to `attributes` for a node with a Consul agent). A new pool name is created."""
        node_id = node_id or str(uuid.uuid4())
        version = self.state.version
        node: dict[str, Any] = {
            "ID": node_id, "Name": name, "Datacenter": datacenter, "NodeClass": node_class, "NodePool": pool,
            "Status": status, "StatusDescription": "",
            "SchedulingEligibility": "eligible" if eligible and not drain else "ineligible",
            "Drain": drain, "DrainStrategy": {"IgnoreSystemJobs": False} if drain else None,
            "Address": "127.0.0.1", "Version": version, "Meta": dict(meta or {}),
            "Attributes": {"kernel.name": "linux", "unique.hostname": name, "os.name": "debian",
                           "nomad.version": version, "cpu.arch": "amd64", "nomad.service_discovery": "true",
                           **(attributes or {})},
            "NodeResources": None, "Events": [], "Drivers": {}, "HTTPAddr": "127.0.0.1:4646",
        }
        with self.state.lock:
            self.state.node_pools.add(pool)  # a client that names a new pool creates it
            return self.state.add_node(node)

    def remove_node(self, node_id: str) -> None:
        self.state.remove_node(node_id)

    def set_meta(self, node_id: str, meta: dict[str, str]) -> None:
        self.state.update_node(node_id, Meta=dict(meta))

    def set_status(self, node_id: str, status: str) -> None:
        self.state.update_node(node_id, Status=status)

    def set_eligibility(self, node_id: str, eligible: bool) -> None:
        self.state.update_node(node_id, SchedulingEligibility="eligible" if eligible else "ineligible")

    def set_drain(self, node_id: str, drain: bool, ignore_system_jobs: bool = False) -> None:
        """Node.UpdateDrain: draining makes the node ineligible; the drainer then migrates service allocs,
        then stops system allocs (unless ignore_system_jobs) and completes (Drain unset, still ineligible).
        Disabling a drain marks the node eligible again (the CLI's default)."""
        if drain:
            self.state.update_node(node_id, Drain=True, DrainStrategy={"IgnoreSystemJobs": ignore_system_jobs},
                                   SchedulingEligibility="ineligible", _ignore_system=ignore_system_jobs)
        else:
            self.state.update_node(node_id, Drain=False, DrainStrategy=None, SchedulingEligibility="eligible")

    # -- jobs ------------------------------------------------------------------------------
    def register_job_direct(self, job: dict[str, Any]) -> None:
        self.state.register(job)

    def scale_job(self, job_id: str, count: int, group: str | None = None,
                  namespace: str = "default") -> dict[str, Any]:
        """`nomad job scale` / the autoscaler (Job.Scale): a new job version, JobModifyIndex changes."""
        with self.state.lock:
            job = self.state.jobs[(namespace, job_id)]
            group = group or job["TaskGroups"][0]["Name"]
            return self.api.state_scale((namespace, job_id), group, count)

    def stop_allocation(self, alloc_id: str) -> dict[str, Any]:
        """`nomad alloc stop` (Alloc.Stop): see Api.stop_alloc."""
        with self.state.lock:
            return self.api.stop_alloc({}, b"", alloc_id)

    def step(self) -> None:
        """Run pending background work now: start due allocations, continue rollouts, run the drainer."""
        with self.state.lock:
            self.state.promote_pending()
            rollout.drain(self.state)

    def job(self, job_id: str, namespace: str = "default") -> dict[str, Any] | None:
        with self.state.lock:
            job = self.state.jobs.get((namespace, job_id))
            return None if job is None else copy.deepcopy(job) | {"Status": self.state.job_status((namespace, job_id))}

    def allocations(self, job_id: str | None = None, include_terminal: bool = False) -> list[dict[str, Any]]:
        self.state.promote_pending()
        with self.state.lock:
            return [
                {k: v for k, v in a.items() if not k.startswith("_")}
                for a in sorted(self.state.allocs.values(), key=lambda a: (a["CreateIndex"], a["Name"], a["ID"]))
                if (job_id is None or a["JobID"] == job_id) and (include_terminal or scheduler.live(a))
            ]

    def evaluations(self, job_id: str | None = None) -> list[dict[str, Any]]:
        """Recorded evaluations (oldest first), blocked ones included."""
        with self.state.lock:
            evals = [e for e in self.state.evals.values() if job_id is None or e["JobID"] == job_id]
            return copy.deepcopy(sorted(evals, key=lambda e: e["CreateIndex"]))

    def deployment(self, job_id: str, namespace: str = "default") -> dict[str, Any] | None:
        """The job's latest deployment: ID, JobVersion, Status (running/successful/cancelled), Allocs."""
        self.state.promote_pending()
        with self.state.lock:
            found = self.state.deployments.get((namespace, job_id))
            return None if found is None else copy.deepcopy(found) | {"Allocs": sorted(found["Allocs"])}
