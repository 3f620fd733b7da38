"""The CLI's entry point and its single error boundary.

`main()` runs the command group (`cli.group`) and maps every outcome to an exit code
(Terraform's: 0 success, 1 any error, usage errors included, 2 only from
`plan --detailed-exitcode` with changes; click's own usage exit code 2 becomes 1). User
errors print one escaped message (no control characters from data reach the terminal)
and no traceback unless `--debug` (or MODELSCHED_DEBUG=1).

Start-up: `modelsched --version` is answered before click is imported, with click's
exact wording; everything else imports only what its command uses.
"""

from __future__ import annotations

import os
import sys

from modelsched import __version__

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs start-up time
if TYPE_CHECKING:
    import click


def _debug(args: list[str]) -> bool:
    head = args[: args.index("--")] if "--" in args else args
    return "--debug" in head or os.environ.get("MODELSCHED_DEBUG", "") not in ("", "0")


def _traceback() -> None:
    import traceback  # only with --debug: it costs start-up time otherwise

    traceback.print_exc()


def _say(message: str) -> None:
    from modelsched.output.escape import escape_lines

    sys.stderr.write(escape_lines(message) + "\n")
    sys.stderr.flush()


def _show_click_error(exc: click.ClickException) -> None:
    import click

    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        ctx = exc.ctx
        _say(ctx.get_usage())
        if ctx.command.get_help_option(ctx) is not None:
            _say(f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help.")
        _say("")
    _say(f"Error: {exc.format_message()}")


def main(args: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if args is None else args)
    if argv == ["--version"]:
        sys.stdout.write(f"modelsched, version {__version__}\n")
        sys.exit(0)
    import click

    from modelsched.cli.group import cli
    from modelsched.errors import ModelschedError

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
            _traceback()
        _show_click_error(exc)
        sys.exit(1)
    except ModelschedError as exc:
        if debug:
            _traceback()
        _say(f"Error: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        _say("Interrupted.")
        sys.exit(1)
    except Exception as exc:  # a bug, not a user error: say so, keep the exit code contract
        if debug:
            _traceback()
        _say(
            f"Error: internal error: {type(exc).__name__}: {exc} "
            "(re-run with --debug for the traceback and please report it)"
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
