"""NomadDriver: the `Driver` for HashiCorp Nomad (observe, prepare, apply).

Wires the pieces: `observe` (bounded request budget), `prepare` (rendered jobs,
operations, notes, optional server dry run) and `apply` (stale check, `stopcheck`:
every stop is a planned removal, check-index registers, wait).
Owns no Nomad call itself (`client` does) and never prints.

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
from modelsched.drivers.nomad import dryrun, jobops
from modelsched.drivers.nomad import prepare as nomad_prepare
from modelsched.drivers.nomad.build import DEFAULT_WAIT_TIMEOUT
from modelsched.drivers.nomad.client import NomadClient
from modelsched.drivers.nomad.conncheck import check_seconds
from modelsched.drivers.nomad.connection import Connection, with_config
from modelsched.drivers.nomad.observe import Query, observe, snapshot_of
from modelsched.drivers.nomad.stopcheck import check_stops
from modelsched.drivers.nomad.template import load_template
from modelsched.errors import DriverError, PlanFileError, StalePlanError
from modelsched.model.cluster import Observed
from modelsched.model.drift import stale_message
from modelsched.model.entry import Desired, NomadSettings
from modelsched.model.plan import Plan


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
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
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
        client = self._client_for(conn)
        template = load_template(self.job_template or desired.settings.nomad.job_template)
        query = Query.from_desired(desired, adopt=self.adopt)
        live = nomad_prepare.live_jobs(client, snap, query.listed)
        got = nomad_prepare.build(
            plan, desired, snap, template, live, namespace=conn.namespace, region=conn.region
        )
        # A model the driver will not manage (its job ID is taken by a job that is not ours)
        # is left alone with the planner's warning; the other models go ahead.
        ops = list(got.operations)
        diags = list(plan.diagnostics) + list(got.diagnostics)
        if self.server_dry_run:
            ops, extra = dryrun.check(client, plan, ops, got.ops, snap.server_version)
            diags += extra
        data = jobops.NomadData(query, conn.namespace or "", conn.region or "", got.ops)
        summary = plan.summary.model_copy(update={"restart": nomad_prepare.restarts_total(got.ops)})
        return plan.model_copy(
            update={
                "cluster": conn.identity(),
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
        client = self._client_for(self._plan_connection(plan))
        progress(f"nomad: re-observing {self.conn.address}")
        try:
            snap = snapshot_of(observe(client, data.query))
        except DriverError as exc:
            raise type(exc)(f"{exc}. Nothing was applied") from None
        moved = []
        for op in data.ops:
            info = snap.ownership.jobs.get(op.job_id)
            if (info.modify_index if info else 0) != op.modify_index:
                moved.append(("job", op.job_id))
        if moved or snap.observed.fingerprint != plan.observed_fingerprint:
            raise StalePlanError(stale_message(plan.observed_nodes, snap.observed, others=moved))
        check_stops(data.ops, plan.changes, snap.observed)
        return nomad_apply.run(client, plan, data.ops, progress, wait=self.wait, timeout=self.wait_timeout)

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
