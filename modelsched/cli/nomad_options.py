"""The `--nomad-*` options and building a NomadDriver from them.

Precedence (DESIGN.md "CLI"): explicit option > the saved plan's cluster (when a
plan file is applied) > NOMAD_* environment (Nomad CLI conventions) > default
`http://127.0.0.1:4646`. An explicit option that contradicts the plan file is a
PlanFileError naming both values. The token only ever comes from NOMAD_TOKEN: a
command-line token would land in shell history and process listings.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from modelsched.drivers.base import Driver
from modelsched.drivers.nomad import Connection, NomadDriver, conncheck
from modelsched.drivers.nomad.client import DEFAULT_ADDRESS
from modelsched.errors import ModelschedError, PlanFileError

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("--nomad-addr", "nomad_addr", {"metavar": "URL", "help": "Nomad HTTP API address. Default: NOMAD_ADDR, "
                                    f"else {DEFAULT_ADDRESS}."}),
    ("--nomad-namespace", "nomad_namespace", {"metavar": "NS", "help": "Nomad namespace. Default: NOMAD_NAMESPACE."}),
    ("--nomad-region", "nomad_region", {"metavar": "REGION", "help": "Nomad region. Default: NOMAD_REGION."}),
    ("--nomad-cacert", "nomad_cacert", {"metavar": "PATH", "help": "CA certificate. Default: NOMAD_CACERT."}),
    ("--nomad-capath", "nomad_capath", {"metavar": "DIR", "help": "Directory of CA certificates. "
                                        "Default: NOMAD_CAPATH."}),
    ("--nomad-client-cert", "nomad_client_cert", {"metavar": "PATH", "help": "Client certificate (mTLS). "
                                                  "Default: NOMAD_CLIENT_CERT."}),
    ("--nomad-client-key", "nomad_client_key", {"metavar": "PATH", "help": "Client key. Default: NOMAD_CLIENT_KEY."}),
    ("--nomad-tls-server-name", "nomad_tls_server_name", {"metavar": "NAME", "help": "Server name to verify "
                                                          "the certificate against. Default: NOMAD_TLS_SERVER_NAME."}),
    ("--nomad-skip-verify", "nomad_skip_verify", {"is_flag": True, "default": None, "help": "Do not verify the "
                                                  "server certificate (testing only). Default: NOMAD_SKIP_VERIFY."}),
    ("--nomad-timeout", "nomad_timeout", {"type": float, "metavar": "SECONDS", "help": "Per-request timeout "
                                          "(default 10)."}),
    ("--job-template", "job_template", {"metavar": "PATH", "help": "Jinja2 job template (overrides the config's "
                                        "nomad.job_template)."}),
    ("--adopt", "adopt", {"is_flag": True, "default": False, "help": "Manage existing Nomad jobs that have a "
                          "model's job name but are not modelsched's."}),
]
NAMES = [name for _, name, _ in _OPTIONS]
_TRUE = {"1", "true", "yes", "on", "t"}


def nomad_options(f: F) -> F:
    """Add the Nomad options; the command receives them as one `nomad_opts` dict."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["nomad_opts"] = {name: kwargs.pop(name, None) for name in NAMES}
        return f(*args, **kwargs)

    cmd: Any = wrapper
    for flag, name, extra in reversed(_OPTIONS):
        extra = dict(extra)
        extra.setdefault("default", None)
        cmd = click.option(flag, name, **extra)(cmd)
    return cmd  # type: ignore[no-any-return]


def _pick(
    opts: Mapping[str, Any], env: Mapping[str, str], plan_cluster: Mapping[str, str] | None, opt: str,
    key: str | None, var: str,
) -> str | None:
    explicit = opts.get(opt)
    if key is not None and plan_cluster is not None:
        recorded = plan_cluster.get(key, "")
        if explicit is not None and str(explicit) != recorded:
            flag = "--" + opt.replace("_", "-")
            raise PlanFileError(
                f"{flag} {explicit} contradicts the plan file, which was made for {key} {recorded or '(unset)'}; "
                "nothing was applied"
            )
        return recorded or None
    if explicit is not None:
        return str(explicit)
    return env.get(var) or None


def connection(
    nomad_opts: Mapping[str, Any], *, env: Mapping[str, str], plan_cluster: Mapping[str, str] | None = None
) -> Connection:
    def pick(opt: str, key: str | None, var: str) -> str | None:
        return _pick(nomad_opts, env, plan_cluster, opt, key, var)

    skip = nomad_opts.get("nomad_skip_verify")
    if skip is None:
        skip = env.get("NOMAD_SKIP_VERIFY", "").strip().lower() in _TRUE
    timeout = nomad_opts.get("nomad_timeout")
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise ModelschedError(f"--nomad-timeout must be a number of seconds > 0 (got {timeout})")
    address = pick("nomad_addr", "address", "NOMAD_ADDR") or DEFAULT_ADDRESS
    if "://" not in address:
        address = "http://" + address  # Nomad's CLI accepts host:port too
    conn = Connection(
        address=address.rstrip("/"),
        token=env.get("NOMAD_TOKEN") or None,
        namespace=pick("nomad_namespace", "namespace", "NOMAD_NAMESPACE"),
        region=pick("nomad_region", "region", "NOMAD_REGION"),
        cacert=pick("nomad_cacert", None, "NOMAD_CACERT"),
        capath=pick("nomad_capath", None, "NOMAD_CAPATH"),
        client_cert=pick("nomad_client_cert", None, "NOMAD_CLIENT_CERT"),
        client_key=pick("nomad_client_key", None, "NOMAD_CLIENT_KEY"),
        tls_server_name=pick("nomad_tls_server_name", None, "NOMAD_TLS_SERVER_NAME"),
        skip_verify=bool(skip),
        timeout=float(timeout) if timeout is not None else 10.0,
    )
    conncheck.check_values(conn)  # TLS files are checked when the client is built
    return conn


def build_nomad_driver(
    nomad_opts: dict[str, Any],
    *,
    env: Mapping[str, str],
    plan_cluster: dict[str, str] | None = None,
    server_dry_run: bool = False,
    wait: bool = True,
    wait_timeout: float = 300.0,
) -> Driver:
    conn = connection(nomad_opts, env=env, plan_cluster=plan_cluster)
    return NomadDriver(
        conn,
        job_template=nomad_opts.get("job_template"),
        adopt=bool(nomad_opts.get("adopt")),
        server_dry_run=server_dry_run,
        wait=wait,
        wait_timeout=wait_timeout,
    )
