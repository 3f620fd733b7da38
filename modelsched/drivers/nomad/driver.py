"""NomadDriver: the `Driver` for HashiCorp Nomad (observe, prepare, apply).

Wires the pieces: `observe` (bounded request budget), `prepare` (rendered jobs,
operations, notes, optional server dry run) and `apply` (stale check, check-index
registers, wait). Owns no Nomad call itself (`client` does) and never prints.
"""

from __future__ import annotations

import dataclasses

from modelsched.drivers.base import ApplyReport, Progress
from modelsched.drivers.nomad import apply as apply_mod
from modelsched.drivers.nomad import dryrun, jobops
from modelsched.drivers.nomad import prepare as prep
from modelsched.drivers.nomad.client import Connection, NomadClient
from modelsched.drivers.nomad.observe import Query, Snapshot, observe
from modelsched.drivers.nomad.template import load_template
from modelsched.errors import DriverError, PlanFileError, StalePlanError
from modelsched.model.cluster import Observed
from modelsched.model.drift import stale_message
from modelsched.model.entry import Desired
from modelsched.model.plan import Plan


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
        query = Query.from_desired(desired, adopt=self.adopt)
        live = prep.live_jobs(self.client, snap, query.listed)
        got = prep.build(plan, desired, snap, template, live, namespace=self.conn.namespace, region=self.conn.region)
        # A model the driver will not manage (its job ID is taken by a job that is not ours)
        # is left alone with the planner's warning; the other models go ahead.
        ops = list(got.operations)
        diags = list(plan.diagnostics) + list(got.diagnostics)
        if self.server_dry_run:
            ops, extra = dryrun.check(self.client, plan, ops, got.ops, getattr(snap, "server_version", None))
            diags += extra
        data = jobops.NomadData(query, self.conn.namespace or "", self.conn.region or "", got.ops)
        summary = plan.summary.model_copy(update={"restart": prep.restarts_total(got.ops)})
        return plan.model_copy(
            update={
                "changes": list(got.changes),
                "operations": ops,
                "diagnostics": diags,
                "summary": summary,
                "driver_data": data.to_data(),
            }
        )

    def verify_config(self, plan: Plan, desired: Desired) -> None:
        """Apply with a config source: re-render the jobs from the config (and the job template
        as it is now) against the cluster as observed, and refuse a saved plan whose jobs differ."""
        saved = jobops.decode(plan.driver_data)
        observed = self.observe(desired)
        fresh = self.prepare(plan.model_copy(update={"driver_data": None}), desired, observed)
        differ = jobops.mismatched(saved.ops, jobops.decode(fresh.driver_data).ops)
        if differ:
            raise PlanFileError(
                f"the plan's Nomad job(s) {', '.join(differ)} differ from the jobs the config renders now "
                "(config or job template changed since the plan was made); nothing was applied: run "
                "`modelsched plan` again"
            )

    def apply(self, plan: Plan, progress: Progress) -> ApplyReport:
        if any(d.level == "error" for d in plan.diagnostics):
            raise DriverError("the plan has errors (see above); fix them and plan again. Nothing was applied.")
        data = jobops.decode(plan.driver_data)
        progress(f"nomad: re-observing {self.conn.address}")
        try:
            snap = observe(self.client, data.query)
        except DriverError as exc:
            raise DriverError(f"{exc}. Nothing was applied") from None
        moved = []
        for op in data.ops:
            info = snap.ownership.jobs.get(op.job_id)
            if (info.modify_index if info else 0) != op.modify_index:
                moved.append(("job", op.job_id))
        if moved or snap.observed.fingerprint != plan.observed_fingerprint:
            raise StalePlanError(stale_message(plan.observed_nodes, snap.observed, others=moved))
        return apply_mod.run(self.client, plan, data.ops, progress, wait=self.wait, timeout=self.wait_timeout)
