"""The `modelsched` command group: global options and the subcommands, loaded lazily.

Subcommands are imported only when they run (`cli.lazy`), so `modelsched plan` on the
local driver never loads the Nomad stack, and this module imports click only.
"""

from __future__ import annotations

import click

from modelsched import __version__
from modelsched.cli.lazy import LazyGroup

COMMANDS = {
    "validate": "modelsched.cli.commands:validate",
    "plan": "modelsched.cli.commands:plan",
    "apply": "modelsched.cli.apply:apply",
    "show": "modelsched.cli.commands:show",
    "render": "modelsched.cli.render:render",
}
VERSION_MESSAGE = "%(prog)s, version %(version)s"


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="modelsched", message=VERSION_MESSAGE)
@click.option("--debug", is_flag=True, expose_value=False, help="Show a traceback on errors.")
def cli() -> None:
    """Declarative plan/apply for per-model replica scheduling on labelled clusters."""
