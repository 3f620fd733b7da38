"""NomadDriver: the `Driver` for HashiCorp Nomad (observe, prepare, apply).

Wires the pieces: `observe` (bounded request budget), `prepare` (rendered jobs,
operations, notes, optional server dry run) and `apply` (stale check, check-index
registers, wait). Owns no Nomad call itself (`client` does) and never prints.

Immutable once built: its connection is resolved before (`connection.resolve`, the
config's `nomad:` settings included when given), `cluster()` is right at any time, and
what `prepare` needs from `observe` travels in `Observed.private` (`observe.Snapshot`),
never in an attribute.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from modelsched.drivers.base import ApplyReport, Progress
from modelsched.drivers.nomad import apply as nomad_apply
from modelsched.drivers.nomad import prepare as nomad_prepare
from modelsched.drivers.nomad.client import NomadClient
from modelsched.drivers.nomad.conncheck import check_seconds
from modelsched.drivers.nomad.connection import Connection, with_config
from modelsched.drivers.nomad.observe import Query, observe, snapshot_of
from modelsched.drivers.nomad.template import load_template
from modelsched.errors import DriverError, PlanFileError, StalePlanError
from modelsched.model.cluster import Observed
from modelsched.model.entry import Desired, NomadSettings
from modelsched.model.plan import Plan

DATA_VERSION = 1


class NomadDriver:
    name = "nomad"

    def __init__(
        self,
        conn: Connection,
        *,
        config: NomadSettings | None = None,
        job_template: str | None = None,
        adopt: bool = False,
        server_dry_run: bool = False,
        wait: bool = True,
        wait_timeout: float = 300.0,
    ) -> None:
        """`config`: the config's `nomad:` settings, when known at build time (they fill
        the namespace and region nothing else set; `cluster()` then includes them)."""
        self.conn = with_config(conn, config) if config is not None else conn
        self.client = NomadClient(self.conn)
        self.job_template = job_template
        self.adopt = adopt
        self.server_dry_run = server_dry_run
        self.wait = wait
        self.wait_timeout = check_seconds(wait_timeout, "--timeout", zero=True)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__:
            raise AttributeError(f"NomadDriver is immutable: {name} cannot change once built")
        super().__setattr__(name, value)

    def cluster(self) -> dict[str, str]:
        return self.conn.identity()

    def _client_for(self, conn: Connection) -> NomadClient:
        return self.client if conn == self.conn else NomadClient(conn)

    def observe(self, desired: Desired) -> Observed:
        # A driver built without the config: its `nomad:` namespace/region fill what nothing
        # else set, for this observation only (the Snapshot records the connection used).
        conn = with_config(self.conn, desired.settings.nomad)
        return observe(self._client_for(conn), Query.from_desired(desired, adopt=self.adopt))

    def prepare(self, plan: Plan, desired: Desired, observed: Observed) -> Plan:
        snap = snapshot_of(observed)
        conn = snap.connection or self.conn
        template = load_template(self.job_template or desired.settings.nomad.job_template)
        ops, jobs = nomad_prepare.build_all(
            plan, desired, snap, template, namespace=conn.namespace, region=conn.region
        )
        # A model the driver will not manage (its job ID is taken by a job that is not ours)
        # is left alone with the planner's warning; the other models go ahead.
        diags = list(plan.diagnostics)
        if self.server_dry_run:
            ops, extra = nomad_prepare.server_dry_run(self._client_for(conn), plan, ops, jobs)
            diags += extra
        data: dict[str, Any] = {
            "version": DATA_VERSION,
            "query": Query.from_desired(desired, adopt=self.adopt).to_data(),
            "namespace": conn.namespace or "",
            "region": conn.region or "",
            "jobs": jobs,
        }
        return plan.model_copy(
            update={
                "cluster": conn.identity(),
                "changes": nomad_prepare.annotate(plan, desired, snap.observed),
                "operations": ops,
                "diagnostics": diags,
                "driver_data": data,
            }
        )

    def apply(self, plan: Plan, progress: Progress) -> ApplyReport:
        if any(d.level == "error" for d in plan.diagnostics):
            raise DriverError("the plan has errors (see above); fix them and plan again. Nothing was applied.")
        data = plan.driver_data
        if not isinstance(data, dict) or data.get("version") != DATA_VERSION or "query" not in data:
            raise PlanFileError("the plan has no Nomad driver data (made by another driver or version); plan again")
        query = Query.from_data(data["query"])
        client = self._client_for(self._plan_connection(plan))
        progress(f"nomad: re-observing {self.conn.address}")
        try:
            snap = snapshot_of(observe(client, query))
        except DriverError as exc:
            raise type(exc)(f"{exc}. Nothing was applied") from None
        # Jobs first: a changed job also changes the fingerprint, and the message should name it.
        jobs = dict(data.get("jobs") or {})
        for job_id, job in sorted(jobs.items()):
            info = snap.ownership.jobs.get(job_id)
            if (info.modify_index if info else 0) != int(job["modify_index"]):
                raise StalePlanError(
                    f"Saved plan is stale: Nomad job {job_id} at {self.conn.address} changed since the plan was "
                    f"made (modify index {info.modify_index if info else 'none: deleted'}, plan recorded "
                    f"{job['modify_index']}); nothing was applied: run `modelsched plan` again"
                )
        if snap.observed.fingerprint != plan.observed_fingerprint:
            raise StalePlanError(
                f"Saved plan is stale: Nomad cluster at {self.conn.address} changed since the plan was made (nodes, "
                "labels, jobs or allocations); nothing was applied: run `modelsched plan` again"
            )
        return nomad_apply.run(client, plan, jobs, progress, wait=self.wait, timeout=self.wait_timeout)

    def _plan_connection(self, plan: Plan) -> Connection:
        """The connection the plan was made for: this driver's, with the namespace and region
        the plan recorded where this driver has none (they came from the config's `nomad:`
        settings at plan time). A plan for another address or namespace is refused."""
        recorded = plan.cluster
        conn = self.conn
        if recorded.get("address", conn.address) != conn.address:
            raise PlanFileError(
                f"the plan was made for Nomad at {recorded.get('address')}, not {conn.address}; nothing was applied"
            )
        chosen: dict[str, str | None] = {}
        for key in ("namespace", "region"):
            mine, theirs = getattr(conn, key), recorded.get(key) or None
            if mine is not None and theirs != mine:
                raise PlanFileError(
                    f"the plan was made for Nomad {key} {theirs or '(unset)'}, not {mine}; nothing was applied"
                )
            chosen[key] = theirs
        if (chosen["namespace"], chosen["region"]) == (conn.namespace, conn.region):
            return conn
        return dataclasses.replace(conn, namespace=chosen["namespace"], region=chosen["region"])
