"""Build a `NomadDriver` from the `--nomad-*` option values and the environment.

The workflow calls `build_nomad_driver` with the option values by dest name (the CLI
declares the options in `cli/nomad_options`, and nothing else); which value wins is
`connection.resolve`'s alone. Light on purpose: requests, python-nomad and Jinja2 load
only when the driver is built. Owns `DEFAULT_WAIT_TIMEOUT`, the one default for how
long apply waits for allocations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelsched.drivers.base import Driver
from modelsched.drivers.nomad.conncheck import check_seconds
from modelsched.drivers.nomad.connection import Connection, Options, resolve
from modelsched.model.entry import NomadSettings

# Seconds apply waits for the allocations to match the plan (`--timeout`).
DEFAULT_WAIT_TIMEOUT = 300.0


def options_of(nomad_opts: Mapping[str, Any]) -> Options:
    """The explicit options from their values by dest name (None = not given)."""
    return Options(
        address=nomad_opts.get("nomad_addr"),
        namespace=nomad_opts.get("nomad_namespace"),
        region=nomad_opts.get("nomad_region"),
        cacert=nomad_opts.get("nomad_cacert"),
        capath=nomad_opts.get("nomad_capath"),
        client_cert=nomad_opts.get("nomad_client_cert"),
        client_key=nomad_opts.get("nomad_client_key"),
        tls_server_name=nomad_opts.get("nomad_tls_server_name"),
        skip_verify=nomad_opts.get("nomad_skip_verify"),
        timeout=nomad_opts.get("nomad_timeout"),
    )


def connection(
    nomad_opts: Mapping[str, Any],
    *,
    env: Mapping[str, str],
    plan_cluster: Mapping[str, str] | None = None,
    config: NomadSettings | None = None,
) -> Connection:
    return resolve(options_of(nomad_opts), env=env, plan_cluster=plan_cluster, config=config)


def build_nomad_driver(
    nomad_opts: Mapping[str, Any],
    *,
    env: Mapping[str, str],
    plan_cluster: Mapping[str, str] | None = None,
    config: NomadSettings | None = None,
    server_dry_run: bool = False,
    wait: bool = True,
    wait_timeout: float | None = None,
) -> Driver:
    """A NomadDriver. Pass the config's `nomad:` settings (`config`) when a config was
    read, so the driver's cluster includes its namespace and region from the start.
    `wait_timeout` None: `DEFAULT_WAIT_TIMEOUT`."""
    conn = connection(nomad_opts, env=env, plan_cluster=plan_cluster, config=config)
    timeout = check_seconds(DEFAULT_WAIT_TIMEOUT if wait_timeout is None else wait_timeout, "--timeout", zero=True)
    from modelsched.drivers.nomad.driver import NomadDriver

    return NomadDriver(
        conn,
        job_template=nomad_opts.get("job_template"),
        adopt=bool(nomad_opts.get("adopt")),
        server_dry_run=server_dry_run,
        wait=wait,
        wait_timeout=timeout,
    )
