"""`apply`: apply a saved plan, or plan now and apply after confirmation; then report.

The workflow does the work (`apply_saved` / `apply_now`); this command asks for
confirmation, shows the live monitor, prints what was done and, with `--report FILE`,
writes it as JSON, also when the apply stopped on an error.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from modelsched import workflow
from modelsched.cli.commands import emit, request
from modelsched.cli.driver_options import LOCALAI, LOCK_TIMEOUT, NOMAD, STATE, TIMEOUT, WAIT, driver_specific
from modelsched.cli.monitor import Monitor
from modelsched.cli.options import (
    config_option,
    debug_option,
    driver_option,
    no_color_option,
    prune_option,
    target_option,
)
from modelsched.cli.report import print_applied, report_data, report_json
from modelsched.errors import ModelschedError, UsageError


def _confirm() -> bool:
    if not sys.stdin.isatty():
        raise UsageError(
            "apply needs confirmation but there is no terminal to ask on; "
            "re-run with --auto-approve, or apply a saved plan file. Nothing was changed."
        )
    click.echo("\nDo you want to apply these changes? Only 'yes' will be accepted.")
    answer = click.prompt("  Enter a value", default="", show_default=False)
    if answer.strip() != "yes":
        click.echo("")
        return False
    return True


def _error_report(req: workflow.Request, path: str, planfile: str | None, error: str) -> None:
    """Write the report of an apply that stopped on an error, when it is safe: the plan
    file (if any) is readable, and the path is none of this run's inputs."""
    plan = None
    try:
        if planfile is not None:
            plan = workflow.show(planfile)
        workflow.check_report_path(req, path, plan, planfile)
    except ModelschedError:
        return
    workflow.write_file(path, report_json(report_data(None, plan, error=error)), "apply report")


@click.command()
@click.argument("planfile", required=False)
@config_option
@driver_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@prune_option
@target_option
@click.option("--report", "report", metavar="FILE", help="Write what was applied, per model, as JSON to FILE.")
@no_color_option
@driver_specific(STATE, LOCK_TIMEOUT, WAIT, TIMEOUT, *NOMAD, *LOCALAI)
@debug_option
def apply(
    planfile: str | None,
    config: str | None,
    driver: str | None,
    auto_approve: bool,
    prune: bool | None,
    targets: tuple[str, ...],
    report: str | None,
    no_color: bool,
    state: str | None,
    lock_timeout: float | None,
    wait: bool,
    wait_timeout: float | None,
    nomad_opts: dict[str, Any],
    localai_opts: dict[str, Any],
    driver_flags: dict[str, tuple[str, ...]],
) -> None:
    """Apply a saved plan, or plan now and apply after confirmation."""
    req = request(
        config=config, driver=driver, state=state, prune=prune, targets=targets, driver_flags=driver_flags,
        nomad_opts=nomad_opts, localai_opts=localai_opts, wait=wait, wait_timeout=wait_timeout,
        lock_timeout=lock_timeout,
    )
    monitor = Monitor.for_stream(sys.stderr, req.env)
    try:
        if planfile is not None:
            applied = workflow.apply_saved(req, planfile, monitor, report_path=report)
        else:
            applied = workflow.apply_now(
                req,
                monitor,
                show_plan=lambda p: emit(p, "text", no_color),
                confirm=None if auto_approve else _confirm,
                report_path=report,
            )
    except UsageError:
        raise  # the command was wrong: nothing ran, no report
    except ModelschedError as exc:
        if report is not None:
            _error_report(req, report, planfile, str(exc))
        raise
    complete = print_applied(applied)
    if report is not None:
        workflow.write_file(report, report_json(report_data(applied, None)), "apply report")
    if applied.cancelled:
        raise click.exceptions.Exit(1)
    if not complete:
        raise ModelschedError("apply did not complete; see above.")
