"""The workflow: which driver, on which cluster; load -> observe -> plan -> prepare; apply.

Precedence rules from DESIGN.md "CLI": driver from --driver, else MODELSCHED_DRIVER,
else local; local state from --state, else MODELSCHED_STATE, else ./cluster.yaml.
When a saved plan is applied, the plan file's driver and cluster are the defaults and
an explicit option that contradicts them is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelsched.drivers.base import ApplyReport, Driver, Progress
from modelsched.drivers.local import LocalDriver
from modelsched.errors import ModelschedError, PlanFileError
from modelsched.gcpause import paused_gc
from modelsched.model.entry import Desired
from modelsched.model.plan import Plan
from modelsched.planner import plan as make_plan

DRIVERS = ("local", "nomad", "localai")


def driver_name(option: str | None, env: Mapping[str, str]) -> str:
    if option:
        return option
    value = env.get("MODELSCHED_DRIVER", "").strip()
    if not value:
        return "local"
    if value not in DRIVERS:
        raise ModelschedError(
            f"MODELSCHED_DRIVER={value!r} is not a driver (expected one of: {', '.join(DRIVERS)})"
        )
    return value


def state_path(option: str | None, env: Mapping[str, str]) -> Path:
    value = option or env.get("MODELSCHED_STATE") or "cluster.yaml"
    return Path(value).absolute()


def build_driver(
    name: str,
    *,
    state: str | None,
    env: Mapping[str, str],
    nomad_opts: dict[str, Any] | None = None,
    plan_cluster: dict[str, str] | None = None,
    server_dry_run: bool = False,
    wait: bool = True,
    wait_timeout: float = 300.0,
) -> Driver:
    if name == "local":
        if plan_cluster is not None:
            recorded = Path(plan_cluster.get("state", ""))
            if state is not None and Path(state).absolute() != recorded:
                raise PlanFileError(
                    f"--state {Path(state).absolute()} contradicts the plan file, which was made for {recorded}"
                )
            return LocalDriver(recorded)
        return LocalDriver(state_path(state, env))
    if name == "nomad":
        from modelsched.cli.nomad_options import build_nomad_driver

        return build_nomad_driver(
            nomad_opts or {},
            env=env,
            plan_cluster=plan_cluster,
            server_dry_run=server_dry_run,
            wait=wait,
            wait_timeout=wait_timeout,
        )
    if name == "localai":
        from modelsched.cli.localai_options import build_localai_driver

        return build_localai_driver(None, env=env, plan_cluster=plan_cluster, wait=wait, wait_timeout=wait_timeout)
    raise ModelschedError(f"unknown driver {name!r} (expected one of: {', '.join(DRIVERS)})")


def plan_with(driver: Driver, desired: Desired, *, prune: bool) -> Plan:
    """observe -> pure plan -> driver's additions (driver data, operations, server checks)."""
    # One GC pause for the bulk work (see modelsched.gcpause): parsing and planning
    # build ~10^6 acyclic containers.
    with paused_gc():
        observed = driver.observe(desired)
        plan = make_plan(desired, observed, prune=prune, driver=driver.name, cluster=driver.cluster())
        return driver.prepare(plan, desired, observed)


def apply_with(driver: Driver, plan: Plan, progress: Progress) -> ApplyReport:
    """Apply a checked plan through its driver (re-observe, stale check, apply, wait)."""
    with paused_gc():
        return driver.apply(plan, progress)
