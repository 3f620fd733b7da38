"""Options shared by several commands, as click decorators (no driver is imported here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
DRIVERS = ("local", "nomad", "localai")  # the workflow's driver names (kept equal by a test)

FORMATS = ("text", "json", "markdown", "html")
MAX_MARKDOWN_CHARS = 60_000  # a pull-request comment holds 65,536 characters

config_option = click.option(
    "--config",
    "config",
    metavar="PATH",
    help="Scheduling config (YAML or JSON; '-' for stdin). Default: MODELSCHED_SCHEDULING[_CONFIG], "
    "else LOCALAI_MODEL_SCHEDULING[_CONFIG].",
)

debug_option = click.option("--debug", is_flag=True, expose_value=False, help="Show a traceback on errors.")

driver_option = click.option(
    "--driver",
    type=click.Choice(DRIVERS),
    default=None,
    help="Cluster backend. Default: MODELSCHED_DRIVER, else local.",
)

prune_option = click.option(
    "--prune", is_flag=True, default=None, help="Also remove replicas of models the config does not list."
)

target_option = click.option(
    "--target",
    "targets",
    metavar="MODEL",
    multiple=True,
    help="Plan (and apply) only this model; repeat for several. Not with --prune.",
)

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format (html: a self-contained page with the node x model grid).",
)

max_chars_option = click.option(
    "--max-chars",
    "max_chars",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help=f"Markdown only: cut the per-node rows to fit N characters (default {MAX_MARKDOWN_CHARS:,}).",
)

no_color_option = click.option("--no-color", is_flag=True, help="Never colour the output.")
