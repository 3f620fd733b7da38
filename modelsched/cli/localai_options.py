"""The `--localai-*` options and building a LocalAIDriver from them.

Precedence (DESIGN.md "CLI"): explicit option > the saved plan's cluster (when a plan
file is applied) > LOCALAI_* environment > default `http://127.0.0.1:8080`. An explicit
address that contradicts the plan file is an error naming both. The admin key only ever
comes from LOCALAI_API_KEY: a command-line key would land in shell history and process
listings. `@localai_options` keeps the options in the click context (the commands' own
signatures do not change); `build_localai_driver` reads them from there when not given.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from modelsched.drivers.base import Driver
from modelsched.drivers.localai import Connection, LocalAIDriver
from modelsched.drivers.localai.apply import Timing
from modelsched.drivers.localai.connection import (
    DEFAULT_ADDRESS,
    DEFAULT_TIMEOUT,
    check_connection,
    check_timeout,
    normalise_address,
)
from modelsched.errors import PlanFileError, UsageError

F = TypeVar("F", bound=Callable[..., Any])
META_KEY = "modelsched.localai_opts"
# Long enough for two of LocalAI's reconciler ticks (every 30 s) and a load.
DEFAULT_WAIT = 90.0

_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("--localai-addr", "localai_addr", {"metavar": "URL", "help": "LocalAI frontend address (distributed mode). "
                                        f"Default: LOCALAI_ADDR, else {DEFAULT_ADDRESS}. The admin key is read "
                                        "from LOCALAI_API_KEY only."}),
    ("--localai-cacert", "localai_cacert", {"metavar": "PATH", "help": "CA certificate for an https:// LocalAI. "
                                            "Default: LOCALAI_CACERT."}),
    ("--localai-skip-verify", "localai_skip_verify", {"is_flag": True, "default": None, "help": "Do not verify "
                                                      "LocalAI's certificate (testing only). "
                                                      "Default: LOCALAI_SKIP_VERIFY."}),
    ("--localai-timeout", "localai_timeout", {"type": float, "metavar": "SECONDS", "help": "Deadline of each "
                                              f"request to LocalAI (default {DEFAULT_TIMEOUT:g})."}),
]
NAMES = [name for _, name, _ in _OPTIONS]
_TRUE = {"1", "true", "yes", "on", "t"}


def localai_options(f: F) -> F:
    """Add the LocalAI options; they are kept in the click context for `build_localai_driver`."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opts = {name: kwargs.pop(name, None) for name in NAMES}
        given = [f"--{n.replace('_', '-')}" for n, v in opts.items() if v is not None]
        driver = kwargs.get("driver")
        if given and driver not in (None, "localai"):
            raise UsageError(f"{', '.join(given)} only applies to --driver localai (the driver is {driver})")
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.meta[META_KEY] = opts
        return f(*args, **kwargs)

    cmd: Any = wrapper
    for flag, name, extra in reversed(_OPTIONS):
        extra = dict(extra)
        extra.setdefault("default", None)
        cmd = click.option(flag, name, **extra)(cmd)
    return cmd  # type: ignore[no-any-return]


def options_from_context() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    return dict(ctx.meta.get(META_KEY) or {}) if ctx is not None else {}


def connection(
    opts: Mapping[str, Any], *, env: Mapping[str, str], plan_cluster: Mapping[str, str] | None = None
) -> Connection:
    explicit = opts.get("localai_addr")
    if plan_cluster is not None:
        recorded = plan_cluster.get("address", "")
        if explicit is not None and normalise_address(str(explicit)) != recorded:
            raise PlanFileError(
                f"--localai-addr {explicit} contradicts the plan file, which was made for address "
                f"{recorded or '(unset)'}; nothing was applied"
            )
        address = recorded
    else:
        given = str(explicit) if explicit is not None else env.get("LOCALAI_ADDR", "")
        address = normalise_address(given or DEFAULT_ADDRESS)
    skip = opts.get("localai_skip_verify")
    if skip is None:
        skip = env.get("LOCALAI_SKIP_VERIFY", "").strip().lower() in _TRUE
    timeout = opts.get("localai_timeout")
    if timeout is not None:
        check_timeout(float(timeout))
    conn = Connection(
        address=address,
        api_key=env.get("LOCALAI_API_KEY") or None,
        cacert=opts.get("localai_cacert") or env.get("LOCALAI_CACERT") or None,
        skip_verify=bool(skip),
        timeout=float(timeout) if timeout is not None else DEFAULT_TIMEOUT,
    )
    check_connection(conn)
    return conn


def _wait_timeout(wait_timeout: float | None) -> float:
    """apply's --timeout when given on the command line, else DEFAULT_WAIT (its own default
    is sized for Nomad)."""
    ctx = click.get_current_context(silent=True)
    source = ctx.get_parameter_source("wait_timeout") if ctx is not None else None
    defaulted = ctx is not None and source in (None, click.core.ParameterSource.DEFAULT)
    if wait_timeout is None or defaulted:
        return DEFAULT_WAIT
    if not (wait_timeout >= 0 and wait_timeout != float("inf")):
        raise UsageError(f"--timeout must be a finite number of seconds >= 0 (got {wait_timeout})")
    return wait_timeout


def build_localai_driver(
    opts: Mapping[str, Any] | None,
    *,
    env: Mapping[str, str],
    plan_cluster: Mapping[str, str] | None = None,
    wait: bool = True,
    wait_timeout: float | None = None,
) -> Driver:
    """`opts` None: the options `@localai_options` kept for the running command."""
    conn = connection(options_from_context() if opts is None else opts, env=env, plan_cluster=plan_cluster)
    return LocalAIDriver(conn, timing=Timing(wait=wait, timeout=_wait_timeout(wait_timeout)))
