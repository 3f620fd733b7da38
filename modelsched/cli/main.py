"""The `modelsched` command group and the single error boundary.

User errors (ModelschedError, usage errors) print one message and exit 1 without a
traceback; `--debug` (or MODELSCHED_DEBUG=1) shows it. Exit 2 is reserved for
`plan --detailed-exitcode` with changes, so click's own usage exit code 2 is mapped to 1.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from modelsched import __version__
from modelsched.cli.apply import apply
from modelsched.cli.commands import plan, show, validate
from modelsched.cli.render import render
from modelsched.errors import ModelschedError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="modelsched")
@click.option("--debug", is_flag=True, expose_value=False, help="Show a traceback on errors.")
def cli() -> None:
    """Declarative plan/apply for per-model replica scheduling on labelled clusters."""


cli.add_command(validate)
cli.add_command(plan)
cli.add_command(apply)
cli.add_command(show)
cli.add_command(render)


def _debug(args: list[str]) -> bool:
    head = args[: args.index("--")] if "--" in args else args
    return "--debug" in head or os.environ.get("MODELSCHED_DEBUG", "") not in ("", "0")


def main(args: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if args is None else args)
    debug = _debug(argv)
    try:
        code = cli.main(args=argv, prog_name="modelsched", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        if debug:
            traceback.print_exc()
        exc.show()
        sys.exit(1)
    except ModelschedError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(1)
    except Exception as exc:  # a bug, not a user error: say so, keep the exit code contract
        if debug:
            traceback.print_exc()
        click.echo(
            f"Error: internal error: {type(exc).__name__}: {exc} "
            "(re-run with --debug for the traceback and please report it)",
            err=True,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
