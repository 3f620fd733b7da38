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
    click's keyword arguments, and the driver group whose `<group>_opts` it goes into."""

    flag: str
    name: str
    drivers: tuple[str, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    # A connection/job option of one driver: its value reaches the command in
    # `<group>_opts` (`nomad_opts`, `localai_opts`) instead of as its own argument.
    group: str = ""

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
    return DriverOption(flag, name, ("nomad",), kwargs, group="nomad")


def _localai(flag: str, name: str, **kwargs: Any) -> DriverOption:
    return DriverOption(flag, name, ("localai",), kwargs, group="localai")


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

LOCALAI_DEFAULT_ADDRESS = "http://127.0.0.1:8080"  # LocalAI's default listen address
# The LocalAI driver's connection options; the admin key only ever comes from LOCALAI_API_KEY.
LOCALAI: tuple[DriverOption, ...] = (
    _localai("--localai-addr", "localai_addr", metavar="URL",
             help="LocalAI frontend address (distributed mode). Default: LOCALAI_ADDR, else "
             f"{LOCALAI_DEFAULT_ADDRESS}. The admin key is read from LOCALAI_API_KEY only."),
    _localai("--localai-cacert", "localai_cacert", metavar="PATH",
             help="CA certificate for an https:// LocalAI. Default: LOCALAI_CACERT."),
    _localai("--localai-skip-verify", "localai_skip_verify", is_flag=True, default=None,
             help="Do not verify LocalAI's certificate (testing only). Default: LOCALAI_SKIP_VERIFY."),
    _localai("--localai-timeout", "localai_timeout", type=float, metavar="SECONDS",
             help="Deadline of each request to LocalAI."),
)
LOCALAI_NAMES = tuple(o.name for o in LOCALAI)

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
    "--wait/--no-wait", "wait", ("nomad", "localai"),
    {"default": True, "help": "Nomad, LocalAI: wait until the live placement matches the plan (default: wait)."},
)
TIMEOUT = DriverOption(
    "--timeout", "wait_timeout", ("nomad", "localai"),
    {"type": float, "default": None, "metavar": "SECONDS", "callback": _positive_seconds,
     "help": "Nomad, LocalAI: seconds to wait (default: Nomad 300, LocalAI 90: two reconciler ticks)."},
)


def driver_specific(*options: DriverOption) -> Callable[[F], F]:
    """Add `options` to a command. The command receives each one by name, except a driver
    group's options, which arrive together as `<group>_opts` (`nomad_opts`,
    `localai_opts`); and `driver_flags`: the options given explicitly, each mapped to the
    drivers it applies to."""

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ctx = click.get_current_context()
            flags: dict[str, tuple[str, ...]] = {}
            groups: dict[str, dict[str, Any]] = {f"{o.group}_opts": {} for o in options if o.group}
            for opt in options:
                value = kwargs.pop(opt.name) if opt.group else kwargs[opt.name]
                if opt.group:
                    groups[f"{opt.group}_opts"][opt.name] = value
                source = ctx.get_parameter_source(opt.name)
                if source not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
                    flags[opt.shown(value)] = opt.drivers
            kwargs.update(groups)
            kwargs["driver_flags"] = flags
            return f(*args, **kwargs)

        cmd: Any = wrapper
        for opt in reversed(options):
            extra = dict(opt.kwargs)
            extra.setdefault("default", None)
            cmd = click.option(opt.flag, opt.name, **extra)(cmd)
        return cmd  # type: ignore[no-any-return]

    return decorate
