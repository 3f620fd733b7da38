"""Driver-specific command-line options: declared here, checked against the driver.

Each option names the drivers it applies to. The `driver_specific` decorator adds the
options to a command and tells the workflow which of them were given explicitly (click's
parameter source): an option of another driver is then a usage error naming the option
and the driver, never silently ignored. A new driver's options are one more table here.

Declarations only: nothing here imports a driver (the Nomad stack loads only when a
Nomad driver is built), so `plan` on the local driver starts fast.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click
from click.core import ParameterSource

F = TypeVar("F", bound=Callable[..., Any])

NOMAD_DEFAULT_ADDRESS = "http://127.0.0.1:4646"  # the Nomad CLI's default


@dataclass(frozen=True)
class DriverOption:
    """One option: its flag (or "--x/--no-x"), parameter name, the drivers it applies to,
    click's keyword arguments, and whether its value goes into `nomad_opts`."""

    flag: str
    name: str
    drivers: tuple[str, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    nomad_opt: bool = False

    def shown(self, value: Any) -> str:
        """The flag as the user typed it (`--no-wait` for a false `--wait/--no-wait`)."""
        if "/" in self.flag:
            on, off = self.flag.split("/", 1)
            return on if value else off
        return self.flag


def _positive_seconds(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise click.BadParameter(f"must be a finite number of seconds >= 0 (got {value})", ctx, param)
    return value


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in `30`, `30s`, `1.5m`, `1m30s`, `500ms`, `2h`; refuses anything else."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{text!r} is not a duration (e.g. 30s, 2m, 1m30s, 500ms)") from None
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"{text!r} is not a duration >= 0")
    return seconds


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _nomad(flag: str, name: str, **kwargs: Any) -> DriverOption:
    return DriverOption(flag, name, ("nomad",), kwargs, nomad_opt=True)


# The connection and job options of the Nomad driver; their values reach the driver as
# `nomad_opts` (keyed by these names). The token only ever comes from NOMAD_TOKEN.
NOMAD: tuple[DriverOption, ...] = (
    _nomad("--nomad-addr", "nomad_addr", metavar="URL",
           help=f"Nomad HTTP API address. Default: NOMAD_ADDR, else {NOMAD_DEFAULT_ADDRESS}."),
    _nomad("--nomad-namespace", "nomad_namespace", metavar="NS", help="Nomad namespace. Default: NOMAD_NAMESPACE."),
    _nomad("--nomad-region", "nomad_region", metavar="REGION", help="Nomad region. Default: NOMAD_REGION."),
    _nomad("--nomad-cacert", "nomad_cacert", metavar="PATH", help="CA certificate. Default: NOMAD_CACERT."),
    _nomad("--nomad-capath", "nomad_capath", metavar="DIR",
           help="Directory of CA certificates. Default: NOMAD_CAPATH."),
    _nomad("--nomad-client-cert", "nomad_client_cert", metavar="PATH",
           help="Client certificate (mTLS). Default: NOMAD_CLIENT_CERT."),
    _nomad("--nomad-client-key", "nomad_client_key", metavar="PATH", help="Client key. Default: NOMAD_CLIENT_KEY."),
    _nomad("--nomad-tls-server-name", "nomad_tls_server_name", metavar="NAME",
           help="Server name to verify the certificate against. Default: NOMAD_TLS_SERVER_NAME."),
    _nomad("--nomad-skip-verify", "nomad_skip_verify", is_flag=True, default=None,
           help="Do not verify the server certificate (testing only). Default: NOMAD_SKIP_VERIFY."),
    _nomad("--nomad-timeout", "nomad_timeout", type=float, metavar="SECONDS", help="Per-request timeout."),
    _nomad("--job-template", "job_template", metavar="PATH",
           help="Jinja2 job template (overrides the config's nomad.job_template)."),
    _nomad("--adopt", "adopt", is_flag=True, default=None,
           help="Manage existing Nomad jobs that have a model's job name but are not modelsched's."),
)
NOMAD_NAMES = tuple(o.name for o in NOMAD)

STATE = DriverOption(
    "--state", "state", ("local",),
    {"metavar": "PATH", "help": "Local driver state file. Default: MODELSCHED_STATE, else ./cluster.yaml."},
)
LOCK_TIMEOUT = DriverOption(
    "--lock-timeout", "lock_timeout", ("local",),
    {"metavar": "DURATION", "callback": _duration,
     "help": "Local: how long to wait for the state file's lock (e.g. 30s, 2m; default: the driver's own)."},
)
SERVER_DRY_RUN = DriverOption(
    "--server-dry-run", "server_dry_run", ("nomad",),
    {"is_flag": True, "default": False, "help": "Nomad: also ask Nomad's plan endpoint about each changed job."},
)
WAIT = DriverOption(
    "--wait/--no-wait", "wait", ("nomad",),
    {"default": True, "help": "Nomad: wait until allocations match the plan (default: wait)."},
)
TIMEOUT = DriverOption(
    "--timeout", "wait_timeout", ("nomad",),
    {"type": float, "default": 300.0, "metavar": "SECONDS", "callback": _positive_seconds,
     "help": "Nomad: seconds to wait for allocations (default 300)."},
)


def driver_specific(*options: DriverOption) -> Callable[[F], F]:
    """Add `options` to a command. The command receives each one by name, except the Nomad
    options, which arrive together as `nomad_opts`; and `driver_flags`: the options given
    explicitly, each mapped to the drivers it applies to."""

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ctx = click.get_current_context()
            flags: dict[str, tuple[str, ...]] = {}
            nomad_opts: dict[str, Any] = {}
            for opt in options:
                value = kwargs.pop(opt.name) if opt.nomad_opt else kwargs[opt.name]
                if opt.nomad_opt:
                    nomad_opts[opt.name] = value
                source = ctx.get_parameter_source(opt.name)
                if source not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
                    flags[opt.shown(value)] = opt.drivers
            if any(opt.nomad_opt for opt in options):
                kwargs["nomad_opts"] = nomad_opts
            kwargs["driver_flags"] = flags
            return f(*args, **kwargs)

        cmd: Any = wrapper
        for opt in reversed(options):
            extra = dict(opt.kwargs)
            extra.setdefault("default", None)
            cmd = click.option(opt.flag, opt.name, **extra)(cmd)
        return cmd  # type: ignore[no-any-return]

    return decorate
