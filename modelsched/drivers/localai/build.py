"""Building a LocalAIDriver from the `--localai-*` option values (declared in the cli's
`driver_options`, passed here by name) and the LOCALAI_* environment.

Precedence (DESIGN.md "CLI"): explicit option > the saved plan's cluster (when a plan
file is applied) > LOCALAI_* environment > default `http://127.0.0.1:8080`. An explicit
address that contradicts the plan file is an error naming both. The admin key only ever
comes from LOCALAI_API_KEY: a command-line key would land in shell history and process
listings. The workflow imports this module only when the LocalAI driver is built. Never
prints and never reads os.environ (the caller passes `env`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelsched.drivers.base import Driver
from modelsched.drivers.localai import apply as apply_mod
from modelsched.drivers.localai.connection import (
    DEFAULT_ADDRESS,
    DEFAULT_TIMEOUT,
    Connection,
    check_connection,
    check_timeout,
    normalise_address,
)
from modelsched.drivers.localai.driver import LocalAIDriver
from modelsched.errors import PlanFileError, UsageError

_TRUE = {"1", "true", "yes", "on", "t"}


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
    """apply's --timeout when given, else the driver's DEFAULT_WAIT (two reconciler ticks)."""
    if wait_timeout is None:
        return apply_mod.DEFAULT_WAIT
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
    return LocalAIDriver(conn, timing=apply_mod.Timing(wait=wait, timeout=_wait_timeout(wait_timeout)))
