"""Building a LocalAIDriver from the `--localai-*` option values (declared in the cli's
`driver_options`, passed here by name) and the LOCALAI_* environment.

Address: --localai-addr, else LOCALAI_ADDR, else `http://127.0.0.1:8080`. When a saved
plan is applied its cluster's address is used, and --localai-addr or LOCALAI_ADDR naming
another address is a usage error naming both; with LOCALAI_API_KEY set, one of them must
name the plan's address (the key never goes to an address only a plan file names: plan
files travel, and an edited one would otherwise collect the admin key). The admin key only ever
comes from LOCALAI_API_KEY: a command-line key would land in shell history and process
listings. The workflow imports this module only when the LocalAI driver is built. Never
prints and never reads os.environ (the caller passes `env`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelsched.drivers.address import shown_address
from modelsched.drivers.base import Driver
from modelsched.drivers.localai import apply
from modelsched.drivers.localai.connection import (
    DEFAULT_ADDRESS,
    DEFAULT_TIMEOUT,
    KEY_VAR,
    Connection,
    check_address,
    check_connection,
    check_timeout,
    normalise_address,
)
from modelsched.drivers.localai.driver import LocalAIDriver
from modelsched.errors import UsageError

_TRUE = {"1", "true", "yes", "on", "t"}


def connection(
    opts: Mapping[str, Any], *, env: Mapping[str, str], plan_cluster: Mapping[str, str] | None = None
) -> Connection:
    """The connection settings by the precedence in the module docstring, checked."""
    explicit = opts.get("localai_addr")
    key = env.get(KEY_VAR) or None
    if plan_cluster is not None:
        address = _plan_address(plan_cluster, explicit, env.get("LOCALAI_ADDR", ""), key)
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
        api_key=key,
        cacert=opts.get("localai_cacert") or env.get("LOCALAI_CACERT") or None,
        skip_verify=bool(skip),
        timeout=float(timeout) if timeout is not None else DEFAULT_TIMEOUT,
    )
    check_connection(conn)
    return conn


def _plan_address(plan_cluster: Mapping[str, str], explicit: object, from_env: str, key: str | None) -> str:
    """The saved plan's address, once the user has confirmed it. A plan file is data that
    travels (CI artifacts, review threads): the admin key goes to an address it names only
    when --localai-addr or LOCALAI_ADDR names the same one."""
    recorded = plan_cluster.get("address", "")
    check_address(recorded, "the plan file's cluster address")
    given = [(flag, str(v)) for flag, v in (("--localai-addr", explicit), ("LOCALAI_ADDR", from_env)) if v]
    for flag, value in given[:1]:  # the option beats the environment, as without a plan file
        check_address(normalise_address(value))
        if normalise_address(value) != recorded:
            raise UsageError(
                f"{flag} {shown_address(value)} contradicts the plan file, which was made for {recorded}; "
                "nothing was applied"
            )
    if not given and key is not None:
        raise UsageError(
            f"the plan file was made for LocalAI at {recorded}, and {KEY_VAR} is not sent to an address that "
            f"only a plan file names: set LOCALAI_ADDR or --localai-addr to {recorded} to apply it there; "
            "nothing was sent"
        )
    return recorded


def _wait_timeout(wait_timeout: float | None) -> float:
    """apply's --timeout when given, else the driver's DEFAULT_WAIT (two reconciler ticks)."""
    if wait_timeout is None:
        return apply.DEFAULT_WAIT  # read when building (tests shorten it)
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
    """A LocalAIDriver from the `--localai-*` options (`opts`, keyed by dest name)."""
    conn = connection(opts or {}, env=env, plan_cluster=plan_cluster)
    return LocalAIDriver(conn, timing=apply.Timing(wait=wait, timeout=_wait_timeout(wait_timeout)))
