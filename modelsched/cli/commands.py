"""`validate`, `plan` and `show`: the read-only commands (plan may save a plan file).

Each command turns its options into a `workflow.Request`, calls one workflow function
and prints; errors go to the boundary in `cli.main`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from modelsched import output, workflow
from modelsched.cli.driver_options import LOCALAI, NOMAD, SERVER_DRY_RUN, STATE, driver_specific
from modelsched.cli.options import (
    config_option,
    debug_option,
    driver_option,
    format_option,
    max_chars_option,
    no_color_option,
    prune_option,
    target_option,
)
from modelsched.errors import UsageError


def request(**kwargs: Any) -> workflow.Request:
    """A workflow request from a command's options, with this process's environment and stdin."""
    return workflow.Request(env=os.environ, stdin=sys.stdin, **kwargs)


def describe_entry(e: workflow.Entry) -> str:
    selector = output.labels_text(e.node_selector)
    if e.spread:
        what = "spread: one replica on every matching node"
    else:
        upper = str(e.max_replicas) if e.max_replicas else "unbounded"
        what = f"bounded: min {e.min_replicas}, max {upper}"
    return f"{e.model_name}: {what}; selector {selector}"


def emit(plan: workflow.Plan, fmt: str, no_color: bool, *, max_chars: int | None = None, hint: str = "") -> None:
    colour = fmt == "text" and output.use_colour(sys.stdout, no_color, os.environ)
    extra: dict[str, Any] = {"full_plan_hint": hint}
    if max_chars is not None:
        extra["max_chars"] = max_chars
    click.echo(output.format_plan(plan, fmt, colour, **extra), nl=False)


def check_max_chars(fmt: str, max_chars: int | None) -> None:
    if max_chars is not None and fmt != "markdown":
        raise UsageError(f"--max-chars applies to --format markdown only (the format is {fmt})")


@click.command()
@config_option
@debug_option
def validate(config: str | None) -> None:
    """Check the scheduling config; print one line per model."""
    desired = workflow.validate(request(config=config))
    for e in sorted(desired.entries, key=lambda e: e.model_name):
        click.echo(describe_entry(e))
    sources = ", ".join(desired.sources) or "no source"
    click.echo(f"Configuration is valid: {len(desired.entries)} model(s) from {sources}.")


@click.command()
@config_option
@driver_option
@format_option
@click.option("--out", "out", metavar="PLANFILE", help="Save the plan (JSON) for `apply PLANFILE`.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 2 when there are (1 on error).",
)
@prune_option
@target_option
@max_chars_option
@no_color_option
@driver_specific(STATE, SERVER_DRY_RUN, *NOMAD, *LOCALAI)
@debug_option
def plan(
    config: str | None,
    driver: str | None,
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    prune: bool | None,
    targets: tuple[str, ...],
    max_chars: int | None,
    no_color: bool,
    state: str | None,
    server_dry_run: bool,
    nomad_opts: dict[str, Any],
    localai_opts: dict[str, Any],
    driver_flags: dict[str, tuple[str, ...]],
) -> None:
    """Show the per-node replica changes that apply would make."""
    check_max_chars(fmt, max_chars)
    req = request(
        config=config, driver=driver, state=state, prune=prune, targets=targets, driver_flags=driver_flags,
        nomad_opts=nomad_opts, localai_opts=localai_opts, server_dry_run=bool(server_dry_run),
    )

    def show_plan(the_plan: workflow.Plan) -> None:
        emit(the_plan, fmt, no_color, max_chars=max_chars, hint=f"the saved plan {out}" if out else "")
        if out and fmt == "text":
            click.echo(f"\nSaved the plan to {out}. Apply it with: modelsched apply {out}")

    the_plan = workflow.plan(req, out, show_plan=show_plan, kept=fmt == "html")
    if detailed_exitcode and the_plan.has_changes:
        raise click.exceptions.Exit(2)


@click.command()
@click.argument("planfile")
@format_option
@max_chars_option
@no_color_option
@debug_option
def show(planfile: str, fmt: str, max_chars: int | None, no_color: bool) -> None:
    """Show a saved plan file (in any plan format)."""
    check_max_chars(fmt, max_chars)
    emit(workflow.show(planfile), fmt, no_color, max_chars=max_chars, hint=f"the plan file {planfile}")
