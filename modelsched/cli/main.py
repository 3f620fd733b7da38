"""The `modelsched` command group and the single error boundary.

`main()` runs the group and maps every outcome to an exit code (Terraform's: 0 success,
1 any error, usage errors included, 2 only from `plan --detailed-exitcode` with
changes; click's own usage exit code 2 becomes 1). User errors print one escaped line
(no control characters from data reach the terminal) and no traceback unless `--debug`
(or MODELSCHED_DEBUG=1). Subcommands are imported only when they run (`cli.lazy`), so
this module imports click and the error types only.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from modelsched import __version__
from modelsched.cli.escape import escape
from modelsched.cli.lazy import LazyGroup
from modelsched.errors import ModelschedError

COMMANDS = {
    "validate": "modelsched.cli.commands:validate",
    "plan": "modelsched.cli.commands:plan",
    "apply": "modelsched.cli.apply:apply",
    "show": "modelsched.cli.commands:show",
    "render": "modelsched.cli.render:render",
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="modelsched", message="%(prog)s, version %(version)s")
@click.option("--debug", is_flag=True, expose_value=False, help="Show a traceback on errors.")
def cli() -> None:
    """Declarative plan/apply for per-model replica scheduling on labelled clusters."""


def _debug(args: list[str]) -> bool:
    head = args[: args.index("--")] if "--" in args else args
    return "--debug" in head or os.environ.get("MODELSCHED_DEBUG", "") not in ("", "0")


def _say(message: str) -> None:
    click.echo(escape(message), err=True)


def _show_click_error(exc: click.ClickException) -> None:
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        ctx = exc.ctx
        _say(ctx.get_usage())
        if ctx.command.get_help_option(ctx) is not None:
            _say(f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help.")
        _say("")
    _say(f"Error: {exc.format_message()}")


def main(args: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if args is None else args)
    debug = _debug(argv)
    try:
        code = cli.main(args=argv, prog_name="modelsched", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _say("Aborted.")
        sys.exit(1)
    except click.ClickException as exc:
        if debug:
            traceback.print_exc()
        _show_click_error(exc)
        sys.exit(1)
    except ModelschedError as exc:
        if debug:
            traceback.print_exc()
        _say(f"Error: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        _say("Interrupted.")
        sys.exit(1)
    except Exception as exc:  # a bug, not a user error: say so, keep the exit code contract
        if debug:
            traceback.print_exc()
        _say(
            f"Error: internal error: {type(exc).__name__}: {exc} "
            "(re-run with --debug for the traceback and please report it)"
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
