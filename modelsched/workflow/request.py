"""How modelsched was called, and what that selects: the config, the driver, the targets.

A `Request` carries the options and the environment (the workflow never reads
os.environ or sys.stdin itself). Driver precedence (DESIGN.md "CLI"): --driver, else
MODELSCHED_DRIVER, else local; local state: --state, else MODELSCHED_STATE, else
./cluster.yaml; for a saved plan, its driver and cluster, and an explicit option that
contradicts them is a usage error. The Nomad stack is imported only when a Nomad driver
is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from modelsched.config.load import ENV_PAIRS, load_desired
from modelsched.config.suggest import closest
from modelsched.drivers.base import ApplyReport, Driver
from modelsched.drivers.local import LocalDriver
from modelsched.errors import UsageError
from modelsched.model.entry import Desired
from modelsched.model.plan import DRIVERS as DRIVERS
from modelsched.model.plan import Plan


@dataclass(frozen=True)
class Request:
    """How modelsched was called. `driver_flags` maps each driver-specific option given
    explicitly (`--nomad-addr`) to the drivers it applies to; `nomad_opts` and
    `localai_opts` carry those drivers' options' values by name."""

    env: Mapping[str, str]
    stdin: TextIO | None = None
    config: str | None = None
    driver: str | None = None
    state: str | None = None
    prune: bool | None = None
    targets: tuple[str, ...] = ()
    driver_flags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    nomad_opts: Mapping[str, Any] = field(default_factory=dict)
    localai_opts: Mapping[str, Any] = field(default_factory=dict)
    server_dry_run: bool = False
    wait: bool = True
    wait_timeout: float | None = None  # None: the driver's own default
    lock_timeout: float | None = None


@dataclass(frozen=True)
class Applied:
    """The outcome of an apply flow. `report` is None when nothing was applied (no
    changes, or `cancelled` at the confirmation). `unknown`: Ctrl-C reached the
    workflow before the driver could say what it had done."""

    plan: Plan
    report: ApplyReport | None
    cancelled: bool = False
    unknown: bool = False


def validate(req: Request) -> Desired:
    """Load and check the scheduling config (every problem at once, located)."""
    return load_desired(req.config, req.env, req.stdin)


def config_given(req: Request) -> bool:
    return req.config is not None or any(req.env.get(v, "").strip() for pair in ENV_PAIRS for v in pair)


def driver_choice(option: str | None, env: Mapping[str, str]) -> tuple[str, str]:
    """The driver's name and where it came from (for messages)."""
    if option:
        return option, "--driver"
    value = env.get("MODELSCHED_DRIVER", "").strip()
    if not value:
        return "local", "the default"
    if value not in DRIVERS:
        raise UsageError(f"MODELSCHED_DRIVER={value!r} is not a driver (expected one of: {', '.join(DRIVERS)})")
    return value, "MODELSCHED_DRIVER"


def check_driver_options(name: str, source: str, req: Request) -> None:
    """An option of another driver is a usage error, never silently ignored."""
    for flag, drivers in sorted(req.driver_flags.items()):
        if name not in drivers:
            owners = " and ".join(f"the {d} driver" for d in drivers)
            raise UsageError(f"{flag} applies to {owners} only, but the driver is {name} (from {source})")


def state_path(option: str | None, env: Mapping[str, str]) -> Path:
    value = option or env.get("MODELSCHED_STATE") or "cluster.yaml"
    return Path(value).absolute()


def build_driver(
    name: str, req: Request, plan_cluster: dict[str, str] | None = None, desired: Desired | None = None
) -> Driver:
    """The driver `name`, for a saved plan's cluster when given. `desired`: the config just
    read, whose tool settings (Nomad's namespace and region) fill what no option set."""
    if name == "local":
        path = state_path(req.state, req.env)
        if plan_cluster is not None:
            recorded = Path(plan_cluster.get("state", ""))
            if req.state is not None and path != recorded:
                raise UsageError(f"--state {path} contradicts the plan file, which was made for {recorded}")
            path = recorded
        if req.lock_timeout is None:
            return LocalDriver(path)
        return LocalDriver(path, lock_timeout=req.lock_timeout)
    if name == "nomad":
        from modelsched.drivers.nomad.build import build_nomad_driver  # the Nomad stack only for Nomad

        return build_nomad_driver(
            req.nomad_opts,
            env=req.env,
            plan_cluster=plan_cluster,
            config=desired.settings.nomad if desired is not None else None,
            server_dry_run=req.server_dry_run,
            wait=req.wait,
            wait_timeout=req.wait_timeout,
        )
    if name == "localai":
        from modelsched.drivers.localai.build import build_localai_driver

        return build_localai_driver(
            dict(req.localai_opts), env=req.env, plan_cluster=plan_cluster, wait=req.wait, wait_timeout=req.wait_timeout
        )
    raise UsageError(f"unknown driver {name!r} (expected one of: {', '.join(DRIVERS)})")


def targets_of(req: Request) -> list[str]:
    if req.targets and req.prune:
        raise UsageError(
            "--prune cannot be combined with --target: a targeted plan looks at the targeted models only, "
            "and pruning is about every model the config does not list"
        )
    return sorted(set(req.targets))


def restrict(desired: Desired, targets: list[str]) -> Desired:
    """The config narrowed to the targeted models; an unknown target is a usage error."""
    if not targets:
        return desired
    known = desired.by_name()
    for name in targets:
        if name not in known:
            guess = closest(name, known)
            hint = f" (did you mean {guess!r}?)" if guess else ""
            sources = ", ".join(desired.sources) or "the config"
            raise UsageError(f"--target {name}: no model of that name in {sources}{hint}")
    return desired.model_copy(update={"entries": tuple(e for e in desired.entries if e.model_name in targets)})


