"""NomadDriver: the `Driver` for HashiCorp Nomad (observe, prepare, apply).

Wires the pieces: `observe` (bounded request budget), `prepare` (rendered jobs,
operations, notes, optional server dry run) and `apply` (stale check, check-index
registers, wait). Owns no Nomad call itself (`client` does) and never prints.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from modelsched.drivers.base import ApplyReport, Progress
from modelsched.drivers.nomad import apply as apply_mod
from modelsched.drivers.nomad import prepare as prep
from modelsched.drivers.nomad.client import Connection, NomadClient
from modelsched.drivers.nomad.observe import Query, Snapshot, observe
from modelsched.drivers.nomad.template import load_template
from modelsched.errors import DriverError, PlanFileError, StalePlanError
from modelsched.model.cluster import Observed
from modelsched.model.entry import Desired
from modelsched.model.plan import Plan

DATA_VERSION = 1


class NomadDriver:
    name = "nomad"

    def __init__(
        self,
        conn: Connection,
        *,
        job_template: str | None = None,
        adopt: bool = False,
        server_dry_run: bool = False,
        wait: bool = True,
        wait_timeout: float = 300.0,
    ) -> None:
        self.conn = conn
        self.client = NomadClient(conn)
        self.job_template = job_template
        self.adopt = adopt
        self.server_dry_run = server_dry_run
        self.wait = wait
        self.wait_timeout = wait_timeout
        self._last: Snapshot | None = None

    def cluster(self) -> dict[str, str]:
        return {
            "address": self.conn.address,
            "region": self.conn.region or "",
            "namespace": self.conn.namespace or "",
        }

    def _use_config_defaults(self, desired: Desired) -> None:
        """The config's `nomad.namespace` / `nomad.region` apply when neither an option, the
        plan file nor NOMAD_NAMESPACE / NOMAD_REGION set them."""
        settings = desired.settings.nomad
        ns = self.conn.namespace or settings.namespace
        region = self.conn.region or settings.region
        if (ns, region) != (self.conn.namespace, self.conn.region):
            self.conn = dataclasses.replace(self.conn, namespace=ns, region=region)
            self.client = NomadClient(self.conn)

    def observe(self, desired: Desired) -> Observed:
        self._use_config_defaults(desired)
        snap = observe(self.client, Query.from_desired(desired, adopt=self.adopt))
        self._last = snap
        return snap.observed

    def prepare(self, plan: Plan, desired: Desired, observed: Observed) -> Plan:
        snap = self._last
        if snap is None or snap.observed is not observed:
            snap = observe(self.client, Query.from_desired(desired, adopt=self.adopt))
        template = load_template(self.job_template or desired.settings.nomad.job_template)
        ops, jobs = prep.build_all(
            plan, desired, snap, template, namespace=self.conn.namespace, region=self.conn.region
        )
        # A model the driver will not manage (its job ID is taken by a job that is not ours)
        # is left alone with the planner's warning; the other models go ahead (issue 3:
        # "reported and left alone unless --adopt").
        diags = list(plan.diagnostics)
        if self.server_dry_run:
            ops, extra = prep.server_dry_run(self.client, plan, ops, jobs)
            diags += extra
        data: dict[str, Any] = {
            "version": DATA_VERSION,
            "query": Query.from_desired(desired, adopt=self.adopt).to_data(),
            "namespace": self.conn.namespace or "",
            "region": self.conn.region or "",
            "jobs": jobs,
        }
        return plan.model_copy(
            update={
                "changes": prep.annotate(plan, desired, snap.observed),
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
        progress(f"nomad: re-observing {self.conn.address}")
        try:
            snap = observe(self.client, query)
        except DriverError as exc:
            raise DriverError(f"{exc}. Nothing was applied") from None
        # Jobs first: a changed job also changes the fingerprint, and the message should name it.
        jobs = dict(data.get("jobs") or {})
        for job_id, job in sorted(jobs.items()):
            info = snap.ownership.jobs.get(job_id)
            if (info.modify_index if info else 0) != int(job["modify_index"]):
                raise StalePlanError(
                    f"Nomad job {job_id} at {self.conn.address} changed since the plan was made (modify index "
                    f"{info.modify_index if info else 'none: deleted'}, plan recorded {job['modify_index']}); "
                    "nothing was applied: run `modelsched plan` again"
                )
        if snap.observed.fingerprint != plan.observed_fingerprint:
            raise StalePlanError(
                f"Nomad cluster at {self.conn.address} changed since the plan was made (nodes, labels, jobs or "
                "allocations); nothing was applied: run `modelsched plan` again"
            )
        return apply_mod.run(self.client, plan, jobs, progress, wait=self.wait, timeout=self.wait_timeout)
