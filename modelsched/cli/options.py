"""Options shared by several commands, as click decorators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from modelsched.workflow import DRIVERS

F = TypeVar("F", bound=Callable[..., Any])


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(f: F) -> F:
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


config_option = click.option(
    "--config",
    "config",
    metavar="PATH",
    help="Scheduling config (YAML or JSON; '-' for stdin). Default: MODELSCHED_SCHEDULING[_CONFIG], "
    "else LOCALAI_MODEL_SCHEDULING[_CONFIG].",
)

debug_option = click.option(
    "--debug", is_flag=True, expose_value=False, help="Show a traceback on errors."
)

driver_options = _stack(
    click.option(
        "--driver",
        type=click.Choice(DRIVERS),
        default=None,
        help="Cluster backend. Default: MODELSCHED_DRIVER, else local.",
    ),
    click.option(
        "--state",
        metavar="PATH",
        default=None,
        help="Local driver state file. Default: MODELSCHED_STATE, else ./cluster.yaml.",
    ),
)

prune_option = click.option(
    "--prune", is_flag=True, default=None, help="Also remove replicas of models the config does not list."
)

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="Output format.",
)

no_color_option = click.option("--no-color", is_flag=True, help="Never colour the output.")
