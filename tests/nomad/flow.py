"""Test helpers: run the CLI's flow (observe -> plan -> prepare -> apply) against a driver."""

from __future__ import annotations

from typing import Any

from modelsched.cli.nomad_options import NAMES
from modelsched.drivers.base import ApplyReport, WaitStatus
from modelsched.drivers.nomad import Connection, NomadDriver
from modelsched.model.entry import Desired, Entry, NomadSettings, Settings
from modelsched.model.plan import Plan, dump_plan, load_plan
from modelsched.planner import plan as make_plan

TOKEN = "secret-token-123"


def opts(**kw: Any) -> dict[str, Any]:
    return {**dict.fromkeys(NAMES), **kw}


def driver(address: str, token: str | None = None, **kw: Any) -> NomadDriver:
    kw.setdefault("wait_timeout", 10.0)
    return NomadDriver(Connection(address=address, token=token, timeout=5.0), **kw)


def desired(*entries: Entry, **settings: Any) -> Desired:
    return Desired(entries=tuple(entries), settings=Settings(nomad=NomadSettings(**settings)))


def make(drv: NomadDriver, want: Desired, *, prune: bool = False) -> Plan:
    observed = drv.observe(want)
    p = make_plan(want, observed, prune=prune, driver=drv.name, cluster=drv.cluster())
    p = drv.prepare(p, want, observed)
    # Round-trip through the plan file format, as `plan --out` + `apply PLANFILE` do.
    return load_plan(dump_plan(p), "plan.json")


class Recorder:
    """A Reporter that keeps every event line and every wait snapshot."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.statuses: list[WaitStatus] = []

    def __call__(self, message: str) -> None:
        self.lines.append(message)

    def waiting(self, status: WaitStatus) -> None:
        self.statuses.append(status)


def apply(drv: NomadDriver, p: Plan, recorder: Recorder | None = None) -> tuple[ApplyReport, list[str]]:
    rec = recorder or Recorder()
    return drv.apply(p, rec), rec.lines
