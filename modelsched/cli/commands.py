"""`validate`, `plan` and `show`: read-only commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from modelsched import output, workflow
from modelsched.cli.localai_options import localai_options
from modelsched.cli.nomad_options import nomad_options
from modelsched.cli.options import (
    config_option,
    debug_option,
    driver_options,
    format_option,
    no_color_option,
    prune_option,
)
from modelsched.config.load import load_desired
from modelsched.errors import ModelschedError, PlanFileError
from modelsched.model.entry import Desired, Entry
from modelsched.model.plan import Plan, dump_plan, load_plan


def read_config(config: str | None) -> Desired:
    return load_desired(config, os.environ, sys.stdin)


def describe_entry(e: Entry) -> str:
    selector = output.labels_text(e.node_selector)
    if e.spread:
        what = "spread: one replica on every matching node"
    else:
        upper = str(e.max_replicas) if e.max_replicas else "unbounded"
        what = f"bounded: min {e.min_replicas}, max {upper}"
    return f"{e.model_name}: {what}; selector {selector}"


@click.command()
@config_option
@debug_option
def validate(config: str | None) -> None:
    """Check the scheduling config; print one line per model."""
    desired = read_config(config)
    for e in sorted(desired.entries, key=lambda e: e.model_name):
        click.echo(describe_entry(e))
    sources = ", ".join(desired.sources) or "no source"
    click.echo(f"Configuration is valid: {len(desired.entries)} model(s) from {sources}.")


def write_plan_file(path: str, plan: Plan) -> None:
    try:
        Path(path).write_text(dump_plan(plan), encoding="utf-8")
    except OSError as exc:
        raise ModelschedError(f"cannot write plan file {path}: {exc.strerror}") from None


def read_plan_file(path: str) -> Plan:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanFileError(f"plan file {path}: not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFileError(f"plan file {path}: cannot read: {exc}") from None
    return load_plan(text, path)


def emit(plan: Plan, fmt: str, no_color: bool) -> None:
    colour = fmt == "text" and output.use_colour(sys.stdout, no_color)
    click.echo(output.format_plan(plan, fmt, colour), nl=False)


def errors_in(plan: Plan) -> int:
    return sum(1 for d in plan.diagnostics if d.level == "error")


@click.command()
@config_option
@driver_options
@format_option
@click.option("--out", "out", metavar="PLANFILE", help="Save the plan (JSON) for `apply PLANFILE`.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 2 when there are (1 on error).",
)
@prune_option
@click.option(
    "--server-dry-run",
    is_flag=True,
    help="Nomad: also ask Nomad's plan endpoint about each changed job.",
)
@no_color_option
@nomad_options
@localai_options
@debug_option
def plan(
    config: str | None,
    driver: str | None,
    state: str | None,
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    prune: bool | None,
    server_dry_run: bool,
    no_color: bool,
    nomad_opts: dict[str, Any],
) -> None:
    """Show the per-node replica changes that apply would make."""
    desired = read_config(config)
    name = workflow.driver_name(driver, os.environ)
    drv = workflow.build_driver(
        name, state=state, nomad_opts=nomad_opts, env=os.environ, server_dry_run=server_dry_run
    )
    the_plan = workflow.plan_with(drv, desired, prune=bool(prune))
    if out:
        write_plan_file(out, the_plan)
    emit(the_plan, fmt, no_color)
    if out and fmt == "text":
        click.echo(f"\nSaved the plan to {out}. Apply it with: modelsched apply {out}")
    if errors_in(the_plan):
        raise ModelschedError(f"the plan has {errors_in(the_plan)} error(s); see above")
    if detailed_exitcode and the_plan.has_changes:
        sys.exit(2)


@click.command()
@click.argument("planfile")
@format_option
@no_color_option
@debug_option
def show(planfile: str, fmt: str, no_color: bool) -> None:
    """Render a saved plan file."""
    emit(read_plan_file(planfile), fmt, no_color)
