"""`apply`: plan-and-confirm, or apply a saved plan; then report what was done."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from modelsched import workflow
from modelsched.cli.commands import emit, errors_in, read_config, read_plan_file
from modelsched.cli.localai_options import localai_options
from modelsched.cli.nomad_options import nomad_options
from modelsched.cli.options import config_option, debug_option, driver_options, no_color_option, prune_option
from modelsched.config.load import ENV_PAIRS
from modelsched.drivers.base import ApplyReport, Driver, LineReporter
from modelsched.errors import ModelschedError, PlanFileError, StalePlanError
from modelsched.model.plan import Plan


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _confirm() -> None:
    if not sys.stdin.isatty():
        raise ModelschedError(
            "apply needs confirmation but there is no terminal to ask on; "
            "re-run with --auto-approve, or apply a saved plan file. Nothing was changed."
        )
    click.echo("\nDo you want to apply these changes? Only 'yes' will be accepted.")
    answer = click.prompt("  Enter a value", default="", show_default=False)
    if answer.strip() != "yes":
        click.echo("\nApply cancelled.")
        sys.exit(1)


def _per_model(report: ApplyReport) -> list[str]:
    done: dict[str, dict[str, list[str]]] = {}
    for c in report.applied:
        done.setdefault(c.model, {"add": [], "remove": []})[c.action].append(c.node)
    lines = []
    for model, acts in sorted(done.items()):
        parts = []
        if acts["add"]:
            parts.append("added on " + ", ".join(sorted(acts["add"])))
        if acts["remove"]:
            parts.append("removed from " + ", ".join(sorted(acts["remove"])))
        lines.append(f"  {model}: " + "; ".join(parts))
    return lines


def _report(report: ApplyReport) -> None:
    added = sum(1 for c in report.applied if c.action == "add")
    removed = len(report.applied) - added
    for msg in report.messages:
        click.echo(msg)
    for line in _per_model(report):
        click.echo(line)
    if report.ok:
        click.echo(f"\nApply complete: {added} replica(s) added, {removed} removed.")
        return
    click.echo(f"\nApply incomplete: {added} replica(s) added, {removed} removed.", err=True)
    for change, why in report.failed:
        click.echo(f"  failed: {change.action} {change.model} on {change.node}: {why}", err=True)
    for change in report.not_attempted:
        click.echo(f"  not attempted: {change.action} {change.model} on {change.node}", err=True)
    for err in report.errors:
        click.echo(f"  error: {err}", err=True)
    raise ModelschedError("apply did not complete; see above. Re-run plan/apply to converge.")


def _check_saved_plan(plan: Plan, driver_opt: str | None, prune: bool | None, config: str | None) -> None:
    if driver_opt and driver_opt != plan.driver:
        raise StalePlanError(
            f"--driver {driver_opt} contradicts the plan file, which was made for driver {plan.driver}; "
            "nothing was applied"
        )
    if prune is not None and prune != plan.prune:
        raise PlanFileError("--prune contradicts the plan file, which was made without --prune")
    # A config source given now (--config, or the environment variables) must be the one
    # the plan was made from; with none, the plan file is self-contained.
    if config is not None or any(os.environ.get(v, "").strip() for pair in ENV_PAIRS for v in pair):
        desired = read_config(config)
        if desired.digest() != plan.desired_digest:
            sources = ", ".join(desired.sources) or "the config"
            raise StalePlanError(
                f"the scheduling config ({sources}) changed since the plan was made; nothing was applied: "
                "run `modelsched plan` again"
            )


def _run(drv: Driver, plan: Plan) -> None:
    if errors_in(plan):
        raise ModelschedError("the plan has errors; fix them and plan again. Nothing was applied.")
    if not plan.has_changes:
        click.echo("No changes. Nothing to apply.")
        return
    _report(workflow.apply_with(drv, plan, LineReporter(_progress)))


@click.command()
@click.argument("planfile", required=False)
@config_option
@driver_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@prune_option
@click.option("--wait/--no-wait", default=True, help="Nomad: wait until allocations match the plan.")
@click.option("--timeout", "wait_timeout", type=float, default=300.0, show_default=True, help="Nomad: seconds to wait.")
@no_color_option
@nomad_options
@localai_options
@debug_option
def apply(
    planfile: str | None,
    config: str | None,
    driver: str | None,
    state: str | None,
    auto_approve: bool,
    prune: bool | None,
    wait: bool,
    wait_timeout: float,
    no_color: bool,
    nomad_opts: dict[str, Any],
) -> None:
    """Apply a saved plan, or plan now and apply after confirmation."""
    env = os.environ
    if planfile is not None:
        saved = read_plan_file(planfile)
        _check_saved_plan(saved, driver, prune, config)
        drv = workflow.build_driver(
            saved.driver,
            state=state,
            nomad_opts=nomad_opts,
            env=env,
            plan_cluster=saved.cluster,
            wait=wait,
            wait_timeout=wait_timeout,
        )
        if drv.cluster() != saved.cluster:
            raise PlanFileError(
                f"the plan file was made for cluster {saved.cluster}, not {drv.cluster()}; nothing was applied"
            )
        _run(drv, saved)
        return
    desired = read_config(config)
    name = workflow.driver_name(driver, env)
    drv = workflow.build_driver(
        name, state=state, nomad_opts=nomad_opts, env=env, wait=wait, wait_timeout=wait_timeout
    )
    fresh = workflow.plan_with(drv, desired, prune=bool(prune))
    emit(fresh, "text", no_color)
    if errors_in(fresh) or not fresh.has_changes:
        _run(drv, fresh)
        return
    if not auto_approve:
        if config == "-":
            raise ModelschedError(
                "the config was read from stdin, so there is no way to ask for confirmation; "
                "re-run with --auto-approve, or save a plan with `plan --out` and apply it. Nothing was changed."
            )
        _confirm()
    _run(drv, fresh)
