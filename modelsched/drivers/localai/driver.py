"""LocalAIDriver: the `Driver` for a distributed LocalAI frontend's admin API.

Wires the pieces: `observe` (three requests), `prepare` (row operations, unloads,
notes, warnings, typed plan data) and `apply` (`planfile`: the driver data does only what
the plan shows; stale check against a fresh observation; then `apply.run`). Owns no HTTP
call itself (`client` does) and never prints.
"""

from __future__ import annotations

from modelsched.drivers.base import ApplyReport, Reporter
from modelsched.drivers.localai import planfile
from modelsched.drivers.localai.apply import Timing, run
from modelsched.drivers.localai.client import LocalAIClient
from modelsched.drivers.localai.connection import Connection
from modelsched.drivers.localai.data import Snapshot, decode_plan_data
from modelsched.drivers.localai.observe import observed_of, snapshot
from modelsched.drivers.localai.prepare import prepare
from modelsched.errors import DriverError, PlanFileError, StalePlanError
from modelsched.model.cluster import Observed
from modelsched.model.drift import stale_message
from modelsched.model.entry import Desired
from modelsched.model.plan import Plan


class LocalAIDriver:
    name = "localai"

    def __init__(self, conn: Connection, *, timing: Timing | None = None) -> None:
        self.conn = conn
        self.client = LocalAIClient(conn)
        self.timing = timing or Timing()

    def cluster(self) -> dict[str, str]:
        return {"address": self.conn.address}

    def observe(self, desired: Desired) -> Observed:
        listed = [e.model_name for e in desired.entries]
        return observed_of(snapshot(self.client, listed), listed)

    def prepare(self, plan: Plan, desired: Desired, observed: Observed) -> Plan:
        snap = observed.private
        if not isinstance(snap, Snapshot):  # observed by someone else: look again
            observed = self.observe(desired)
            snap = observed.private
            assert isinstance(snap, Snapshot)
        return prepare(plan, desired, observed, snap)

    def verify_config(self, plan: Plan, desired: Desired) -> None:
        """The rows a saved plan writes and deletes must be the ones the config gives now."""
        saved = decode_plan_data(plan.driver_data)
        observed = self.observe(desired)
        fresh = decode_plan_data(self.prepare(plan.model_copy(update={"driver_data": None}), desired, observed)
                                 .driver_data)
        mine = {w.spec.model_name: w.spec for w in saved.writes}
        now = {w.spec.model_name: w.spec for w in fresh.writes}
        differ = sorted(m for m in mine if now.get(m) != mine[m])
        differ += sorted(m for m in set(saved.deletes) - set(fresh.deletes))
        if differ:
            raise PlanFileError(
                f"the plan's LocalAI scheduling row(s) for {', '.join(differ)} differ from what the config gives "
                "now; nothing was applied: run `modelsched plan` again"
            )

    def apply(self, plan: Plan, progress: Reporter) -> ApplyReport:
        if any(d.level == "error" for d in plan.diagnostics):
            raise DriverError("the plan has errors (see above); fix them and plan again. Nothing was applied.")
        data = decode_plan_data(plan.driver_data)
        if data.address != self.conn.address:
            raise PlanFileError(
                f"the plan's LocalAI driver data was made for {data.address}, not {self.conn.address}; "
                "nothing was applied"
            )
        planfile.check(plan, data)
        try:
            progress(f"localai: re-observing {self.conn.address}")
            snap = snapshot(self.client, data.listed)
        except DriverError as exc:
            raise DriverError(f"{exc}. Nothing was applied") from None
        except KeyboardInterrupt:
            return ApplyReport(
                not_attempted=list(plan.changes), interrupted=True,
                messages=["interrupted while re-observing: nothing was applied"],
            )
        if snap.fingerprint != plan.observed_fingerprint:
            now = snap.row_digests()
            rows = sorted(m for m in set(now) | set(data.rows) if now.get(m) != data.rows.get(m))
            raise StalePlanError(
                stale_message(
                    plan.observed_nodes, observed_of(snap, data.listed), others=[("scheduling row", m) for m in rows]
                )
            )
        planfile.check_diffs(plan, data, snap)
        return run(self.client, plan, data, progress, self.timing)

