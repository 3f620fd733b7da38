"""The flows: plan, apply (a saved plan, or plan and apply now), validate, show, render.

Owns the order of the work and the checks between its steps: which driver on which
cluster (DESIGN.md "CLI": --driver, else MODELSCHED_DRIVER, else local; --state, else
MODELSCHED_STATE, else ./cluster.yaml), targets, the saved-plan checks, "the plan has
errors" (checked here only, one error type), saving a plan file. It never prints and
never reads os.environ or sys.stdin itself: the caller passes them in a `Request`.
When a saved plan is applied, its driver and cluster are the defaults and an explicit
option that contradicts them is a usage error. The Nomad stack is imported only when a
Nomad driver is built or jobs are rendered.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from modelsched import planner
from modelsched.config.load import ENV_PAIRS, load_desired
from modelsched.config.suggest import closest
from modelsched.drivers.base import ApplyReport, Driver, ModelProgress, Reporter, WaitStatus
from modelsched.drivers.local import LocalDriver
from modelsched.errors import ModelschedError, PlanError, PlanFileError, StalePlanError, UsageError
from modelsched.gcpause import paused_gc
from modelsched.model.drift import node_digests
from modelsched.model.entry import Desired, Entry
from modelsched.model.plan import Change, Plan, dump_plan, load_plan

# What the CLI may use from below the workflow, without importing those layers itself.
__all__ = [
    "DRIVERS", "Applied", "ApplyReport", "Change", "Desired", "Entry", "ModelProgress", "Plan", "Reporter",
    "Request", "WaitStatus", "apply_now", "apply_saved", "plan", "render", "show", "validate",
]

DRIVERS = ("local", "nomad")
STALE_TAIL = "nothing was applied. Run modelsched plan again."


@dataclass(frozen=True)
class Request:
    """How modelsched was called. `driver_flags` maps each driver-specific option given
    explicitly (`--nomad-addr`) to the drivers it applies to; `nomad_opts` carries the
    Nomad options' values by name."""

    env: Mapping[str, str]
    stdin: TextIO | None = None
    config: str | None = None
    driver: str | None = None
    state: str | None = None
    prune: bool | None = None
    targets: tuple[str, ...] = ()
    driver_flags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    nomad_opts: Mapping[str, Any] = field(default_factory=dict)
    server_dry_run: bool = False
    wait: bool = True
    wait_timeout: float = 300.0
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


# ---- configuration, driver, targets -------------------------------------------------


def validate(req: Request) -> Desired:
    """Load and check the scheduling config (every problem at once, located)."""
    return load_desired(req.config, req.env, req.stdin)


def _config_given(req: Request) -> bool:
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


def _check_driver_options(name: str, source: str, req: Request) -> None:
    """An option of another driver is a usage error, never silently ignored."""
    for flag, drivers in sorted(req.driver_flags.items()):
        if name not in drivers:
            owners = " and ".join(f"the {d} driver" for d in drivers)
            raise UsageError(f"{flag} applies to {owners} only, but the driver is {name} (from {source})")


def state_path(option: str | None, env: Mapping[str, str]) -> Path:
    value = option or env.get("MODELSCHED_STATE") or "cluster.yaml"
    return Path(value).absolute()


def build_driver(name: str, req: Request, plan_cluster: dict[str, str] | None = None) -> Driver:
    if name == "local":
        path = state_path(req.state, req.env)
        if plan_cluster is not None:
            recorded = Path(plan_cluster.get("state", ""))
            if req.state is not None and path != recorded:
                raise UsageError(f"--state {path} contradicts the plan file, which was made for {recorded}")
            path = recorded
        if req.lock_timeout is None:
            return LocalDriver(path)
        return LocalDriver(path, lock_timeout=req.lock_timeout)  # type: ignore[call-arg,unused-ignore]
    if name == "nomad":
        # The connection settings' precedence is moving into the Nomad driver's package;
        # until then it lives beside the Nomad options (imported here only for Nomad).
        from modelsched.cli.nomad_options import build_nomad_driver

        return build_nomad_driver(
            dict(req.nomad_opts),
            env=req.env,
            plan_cluster=plan_cluster,
            server_dry_run=req.server_dry_run,
            wait=req.wait,
            wait_timeout=req.wait_timeout,
        )
    raise UsageError(f"unknown driver {name!r} (expected one of: {', '.join(DRIVERS)})")


def _targets(req: Request) -> list[str]:
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


# ---- files the flows write -----------------------------------------------------------


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # hard links
    except OSError:
        return False


def _protected(
    req: Request, cluster: Mapping[str, str] | None, config_sources: tuple[str, ...]
) -> list[tuple[str, Path]]:
    """The files an output must never replace: the state file (the one the options and
    the environment name, and the plan's), the config files (named or from the environment)."""
    out: list[tuple[str, Path]] = [("the cluster state file", state_path(req.state, req.env))]
    if cluster is not None and "state" in cluster:
        out.append(("the cluster state file", Path(cluster["state"])))
    sources = [*config_sources, req.config or "", *(req.env.get(path_var, "") for _, path_var in ENV_PAIRS)]
    for source in sources:
        if source.strip() and source != "-" and not source.startswith(("env ", "<")):
            out.append(("the scheduling config", Path(source)))
    return out


def check_report_path(req: Request, path: str, plan: Plan | None = None, planfile: str | None = None) -> None:
    """Refuse a report path that is an input of this run (or a link to one)."""
    protected = _protected(req, plan.cluster if plan is not None else None, ())
    if planfile is not None:
        protected.append(("the plan file", Path(planfile)))
    check_output_path("--report", path, protected)


def _ours(path: Path) -> bool:
    """An existing file this tool wrote (a plan or an apply report: both open with these keys)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(256)
    except OSError:
        return False
    return not head.strip() or (b'"format_version"' in head and b'"generator": "modelsched' in head)


def check_output_path(option: str, path: str, protected: list[tuple[str, Path]]) -> None:
    """Refuse to write an output over an input (the state file, the config, a plan), a link
    to one, or any existing file that is not a plan or report this tool wrote."""
    for what, other in protected:
        if _same_file(Path(path), other):
            raise UsageError(f"{option} {path} is {what} ({other}); choose another path. Nothing was written")
    target = Path(path)
    if target.is_file() and not _ours(target):
        raise UsageError(
            f"{option} {path} exists and is not a file modelsched wrote; remove it or choose another path. "
            "Nothing was written"
        )


def write_file(path: str, text: str, what: str) -> None:
    """Write atomically (temp file + rename): a reader never sees half a file."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent if str(target.parent) else ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise ModelschedError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


def read_plan_file(path: str) -> Plan:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanFileError(f"plan file {path}: not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFileError(f"plan file {path}: cannot read: {exc}") from None
    return load_plan(text, path)


def show(planfile: str) -> Plan:
    return read_plan_file(planfile)


# ---- plan ----------------------------------------------------------------------------


def refuse_errors(plan: Plan, *, applying: bool = False) -> None:
    """The one check that a plan is usable (its error diagnostics are shown with it)."""
    count = sum(1 for d in plan.diagnostics if d.level == "error")
    if count:
        tail = "; nothing was applied" if applying else ""
        raise PlanError(f"the plan has {count} error(s) (see above); fix them and plan again{tail}")


def _plan_with(driver: Driver, desired: Desired, req: Request, *, save: bool) -> Plan:
    """observe -> pure plan -> the driver's additions; node digests when the plan is saved."""
    targets = _targets(req)
    scoped = restrict(desired, targets)
    # One GC pause for the bulk work (see modelsched.gcpause): parsing and planning
    # build ~10^6 acyclic containers.
    with paused_gc():
        observed = driver.observe(scoped)
        result = planner.plan(scoped, observed, prune=bool(req.prune), driver=driver.name, cluster=driver.cluster())
        if targets:
            # The plan is of the targeted models; its digest is of the whole config, so a
            # change to any entry makes the saved plan stale. Models listed in the config
            # but not targeted are not "unlisted".
            listed = desired.by_name()
            result = result.model_copy(
                update={
                    "targets": targets,
                    "desired_digest": desired.digest(),
                    "unlisted": [u for u in result.unlisted if u.model not in listed],
                }
            )
        result = driver.prepare(result, scoped, observed)
        if save:
            result = result.model_copy(update={"observed_nodes": node_digests(observed)})
        return result


def plan_with(driver: Driver, desired: Desired, *, prune: bool) -> Plan:
    """observe -> plan -> prepare on a built driver (for benchmarks and tools)."""
    return _plan_with(driver, desired, Request(env={}, prune=prune), save=False)


def _planned(req: Request, out: str | None) -> tuple[Driver, Plan]:
    _targets(req)
    desired = validate(req)
    name, source = driver_choice(req.driver, req.env)
    _check_driver_options(name, source, req)
    driver = build_driver(name, req)
    if out is not None:
        check_output_path("--out", out, _protected(req, driver.cluster(), desired.sources))
    result = _plan_with(driver, desired, req, save=out is not None)
    if out is not None:
        write_file(out, dump_plan(result), "plan file")
    return driver, result


def plan(req: Request, out: str | None = None) -> Plan:
    """Load the config, observe, plan, prepare; save the plan to `out` (with node digests).
    The caller shows the plan, then calls `refuse_errors`."""
    return _planned(req, out)[1]


# ---- apply ---------------------------------------------------------------------------


def _apply(driver: Driver, plan: Plan, reporter: Reporter) -> Applied:
    refuse_errors(plan, applying=True)
    if not plan.has_changes:
        return Applied(plan, None)
    with paused_gc():
        try:
            report = driver.apply(plan, reporter)
        except KeyboardInterrupt:
            interrupted = ApplyReport(interrupted=True, status=None)
            return Applied(plan, interrupted, unknown=True)
    return Applied(plan, report)


def apply_now(
    req: Request,
    reporter: Reporter,
    *,
    show_plan: Callable[[Plan], None],
    confirm: Callable[[], bool] | None,
    report_path: str | None = None,
) -> Applied:
    """Plan, show the plan, ask `confirm` (None: approved), apply."""
    if report_path is not None:
        check_report_path(req, report_path)
    driver, fresh = _planned(req, None)
    show_plan(fresh)
    refuse_errors(fresh, applying=True)
    if not fresh.has_changes:
        return Applied(fresh, None)
    if confirm is not None:
        if req.config == "-":
            raise UsageError(
                "the config was read from stdin, so there is no way to ask for confirmation; "
                "re-run with --auto-approve, or save a plan with `plan --out` and apply it. Nothing was changed."
            )
        if not confirm():
            return Applied(fresh, None, cancelled=True)
    return _apply(driver, fresh, reporter)


def _check_saved(saved: Plan, req: Request) -> None:
    if req.driver and req.driver != saved.driver:
        raise UsageError(
            f"--driver {req.driver} contradicts the plan file, which was made for driver {saved.driver}; "
            "nothing was applied"
        )
    if req.prune is not None and req.prune != saved.prune:
        raise UsageError("--prune contradicts the plan file, which was made without --prune; nothing was applied")
    targets = _targets(req)
    if targets and targets != saved.targets:
        made_for = ", ".join(saved.targets) if saved.targets else "every model in the config"
        raise UsageError(
            f"--target {', '.join(targets)} contradicts the plan file, which was made for {made_for}; "
            "nothing was applied"
        )
    _check_driver_options(saved.driver, "the plan file", req)
    # A config source given now (--config, or the environment variables) must be the one
    # the plan was made from; with none, the plan file is self-contained.
    if _config_given(req):
        desired = validate(req)
        if desired.digest() != saved.desired_digest:
            sources = ", ".join(desired.sources) or "the config"
            raise StalePlanError(
                f"Saved plan is stale: the scheduling config ({sources}) changed since the plan was made; "
                + STALE_TAIL
            )


def apply_saved(req: Request, planfile: str, reporter: Reporter, *, report_path: str | None = None) -> Applied:
    """Check a saved plan against the options and the config, then apply it through its driver."""
    saved = read_plan_file(planfile)
    if report_path is not None:
        check_report_path(req, report_path, saved, planfile)
    _check_saved(saved, req)
    driver = build_driver(saved.driver, req, plan_cluster=saved.cluster)
    if driver.cluster() != saved.cluster:
        raise PlanFileError(
            f"the plan file was made for cluster {saved.cluster}, not {driver.cluster()}; nothing was applied"
        )
    return _apply(driver, saved, reporter)


# ---- render --------------------------------------------------------------------------


def render(req: Request) -> list[tuple[str, dict[str, Any]]]:
    """Each listed model's Nomad job (job ID, job JSON), without contacting Nomad, in
    scheduler-chosen form with the planned count unknown (`count = min_replicas`)."""
    from modelsched.drivers.nomad import conncheck, jobspec
    from modelsched.drivers.nomad.prepare import placement_of
    from modelsched.drivers.nomad.template import load_template
    from modelsched.drivers.nomad.translate import job_id_for

    desired = validate(req)
    settings = desired.settings.nomad
    opts = req.nomad_opts
    template = load_template(opts.get("job_template") or settings.job_template)
    namespace = opts.get("nomad_namespace") or req.env.get("NOMAD_NAMESPACE") or settings.namespace
    region = opts.get("nomad_region") or req.env.get("NOMAD_REGION") or settings.region
    conncheck.check_namespace(namespace)  # they are written into every job: same rules as plan
    conncheck.check_region(region)
    docs: list[tuple[str, dict[str, Any]]] = []
    for entry in sorted(desired.entries, key=lambda e: e.model_name):
        job_id = job_id_for(settings.job_name_prefix, entry.model_name)
        params = jobspec.JobParams(
            job_id=job_id,
            namespace=namespace,
            region=region,
            datacenters=tuple(settings.datacenters),
            node_pool=settings.node_pool,
            placement=placement_of(entry, desired),
            count=entry.min_replicas,
            matching=entry.max_replicas,
        )
        docs.append((job_id, jobspec.build_job(entry, template, params)))
    return docs
