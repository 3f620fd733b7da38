"""The plan and apply flows: observe -> plan -> prepare; check -> apply -> report.

"The plan has errors" is checked here only (`refuse_errors`, one error type); the
saved-plan checks (driver, prune, targets, driver options, config digest) raise a
usage error or `Saved plan is stale: ...`. One GC pause per bulk step. Never prints:
the caller shows the plan and confirms through callbacks.
"""

from __future__ import annotations

from collections.abc import Callable

from modelsched import planner
from modelsched.drivers.base import ApplyReport, Driver, Reporter
from modelsched.errors import PlanError, PlanFileError, StalePlanError, UsageError
from modelsched.gcpause import paused_gc
from modelsched.model.drift import node_digests
from modelsched.model.entry import Desired
from modelsched.model.plan import Plan, dump_plan
from modelsched.workflow.files import check_output_path, check_report_path, inputs_of, read_plan_file, write_file
from modelsched.workflow.kept import kept_nodes
from modelsched.workflow.request import (
    Applied,
    Request,
    build_driver,
    check_driver_options,
    config_given,
    driver_choice,
    restrict,
    targets_of,
    validate,
)

STALE_TAIL = "nothing was applied. Run modelsched plan again."


def show(planfile: str) -> Plan:
    return read_plan_file(planfile)


def refuse_errors(plan: Plan, *, applying: bool = False, shown: bool = True) -> None:
    """The one check that a plan is usable. `shown`: the plan (with its error diagnostics)
    was just shown; otherwise (a saved plan) the message lists the errors."""
    errors = [d for d in plan.diagnostics if d.level == "error"]
    if not errors:
        return
    tail = "; nothing was applied" if applying else ""
    if shown:
        where = " (see above)"
    else:
        listed = "; ".join(f"{d.model}: {d.message}" if d.model else d.message for d in errors[:3])
        more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
        where = f": {listed}{more}"
    raise PlanError(f"the plan has {len(errors)} error(s){where}; fix them and plan again{tail}")


def _plan_with(driver: Driver, desired: Desired, req: Request, *, save: bool, kept: bool = False) -> Plan:
    """observe -> pure plan -> the driver's additions; node digests when the plan is saved;
    the replicas kept per node (`Plan.nodes`) when it is saved or `kept` (shown as HTML)."""
    targets = targets_of(req)
    # The driver observes and prepares the targeted models only (what it re-observes at
    # apply must be what it observed here); the planner sees the whole config, so the
    # plan's digest covers every entry and untargeted models are not "unlisted".
    scoped = restrict(desired, targets)
    # One GC pause for the bulk work (see modelsched.gcpause): parsing and planning
    # build ~10^6 acyclic containers.
    with paused_gc():
        observed = driver.observe(scoped)
        result = planner.plan(
            desired, observed, prune=bool(req.prune), driver=driver.name, cluster=driver.cluster(), targets=targets
        )
        result = driver.prepare(result, scoped, observed)
        if save:
            result = result.model_copy(update={"observed_nodes": node_digests(observed)})
        if save or kept:
            result = result.model_copy(update={"nodes": kept_nodes(observed, result.changes)})
        return result


def plan_with(driver: Driver, desired: Desired, *, prune: bool, kept: bool = False) -> Plan:
    """observe -> plan -> prepare on a built driver (for benchmarks and tools); `kept`:
    with the replicas kept per node (`Plan.nodes`), as for the HTML plan."""
    return _plan_with(driver, desired, Request(env={}, prune=prune), save=False, kept=kept)


def _planned(req: Request, out: str | None, *, kept: bool = False) -> tuple[Driver, Plan]:
    targets_of(req)  # usage errors first: before reading anything
    name, source = driver_choice(req.driver, req.env)
    check_driver_options(name, source, req)
    desired = validate(req)
    driver = build_driver(name, req, desired=desired)
    if out is not None:
        check_output_path("--out", out, inputs_of(req, driver.cluster(), desired.sources))
    result = _plan_with(driver, desired, req, save=out is not None, kept=kept)
    if out is not None:
        write_file(out, dump_plan(result), "plan file")
    return driver, result


def plan(
    req: Request, out: str | None = None, *, show_plan: Callable[[Plan], None] | None = None, kept: bool = False
) -> Plan:
    """Load the config, observe, plan, prepare; save the plan to `out` (with node digests).
    With `show_plan`: show it, then refuse a plan with errors (`PlanError`). `kept` (or
    `out`): record the replicas kept per node, for the HTML plan."""
    result = _planned(req, out, kept=kept)[1]
    if show_plan is not None:
        show_plan(result)
        refuse_errors(result)
    return result


# ---- apply ---------------------------------------------------------------------------


def _apply(driver: Driver, plan: Plan, reporter: Reporter) -> Applied:
    """Apply a plan already checked by `refuse_errors`."""
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


def _check_saved(saved: Plan, req: Request) -> Desired | None:
    # The plan file's own validation (model.plancheck) refused a driver this version lacks.
    if req.driver and req.driver != saved.driver:
        raise UsageError(
            f"--driver {req.driver} contradicts the plan file, which was made for driver {saved.driver}; "
            "nothing was applied"
        )
    if req.prune is not None and req.prune != saved.prune:
        raise UsageError("--prune contradicts the plan file, which was made without --prune; nothing was applied")
    targets = targets_of(req)
    if targets and targets != saved.targets:
        made_for = ", ".join(saved.targets) if saved.targets else "every model in the config"
        raise UsageError(
            f"--target {', '.join(targets)} contradicts the plan file, which was made for {made_for}; "
            "nothing was applied"
        )
    check_driver_options(saved.driver, "the plan file", req)
    # Like a config source, a driver named by the environment must be the plan's.
    env_driver = req.env.get("MODELSCHED_DRIVER", "").strip()
    if env_driver and env_driver != saved.driver:
        raise StalePlanError(
            f"Saved plan is stale: it was made for driver {saved.driver}, but MODELSCHED_DRIVER selects "
            f"{env_driver}; " + STALE_TAIL
        )
    # A config source given now (--config, or the environment variables) must be the one
    # the plan was made from; with none, the plan file is self-contained.
    if not config_given(req):
        return None
    desired = validate(req)
    if desired.digest() != saved.desired_digest:
        sources = ", ".join(desired.sources) or "the config"
        raise StalePlanError(
            f"Saved plan is stale: the scheduling config ({sources}) changed since the plan was made; "
            + STALE_TAIL
        )
    return desired


def apply_saved(req: Request, planfile: str, reporter: Reporter, *, report_path: str | None = None) -> Applied:
    """Check a saved plan against the options and the config, then apply it through its driver."""
    saved = read_plan_file(planfile)
    if report_path is not None:
        check_report_path(req, report_path, saved, planfile)
    desired = _check_saved(saved, req)
    refuse_errors(saved, applying=True, shown=False)
    driver = build_driver(saved.driver, req, plan_cluster=saved.cluster)
    if driver.cluster() != saved.cluster:
        raise PlanFileError(
            f"the plan file was made for cluster {saved.cluster}, not {driver.cluster()}; nothing was applied"
        )
    if desired is not None:
        # The config given now must render the same driver data (a plan edited in transit).
        driver.verify_config(saved, desired)
    return _apply(driver, saved, reporter)


