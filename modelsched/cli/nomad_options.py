"""The `--nomad-*` options: declarations only.

The command receives their values as one `nomad_opts` dict (by dest name); the
workflow hands it to `modelsched.drivers.nomad.build.build_nomad_driver`, and which
value wins (option, saved plan, NOMAD_* environment, the config's `nomad:` settings,
default) is decided in `modelsched.drivers.nomad.connection.resolve` only. `NAMES`
lists every option's dest name (the CLI refuses them with another driver). Declaring
the options imports neither requests, python-nomad nor Jinja2.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from modelsched.drivers.nomad.conncheck import check_seconds
from modelsched.drivers.nomad.connection import DEFAULT_ADDRESS, DEFAULT_TIMEOUT
from modelsched.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


class Seconds(click.ParamType[float, Any]):
    """A finite number of seconds: NaN, infinity and negatives are usage errors (> 0, or
    >= 0 with `zero`)."""

    name = "seconds"

    def __init__(self, *, zero: bool = False) -> None:
        self.zero = zero

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        flag = param.opts[0] if param is not None and param.opts else "the value"
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        try:
            return check_seconds(number, flag, zero=self.zero)
        except UsageError as exc:
            self.fail(str(exc), param, ctx)


# Options that say where and how to reach Nomad (render uses none of them).
_CONNECTION: list[tuple[str, str, dict[str, Any]]] = [
    ("--nomad-addr", "nomad_addr", {"metavar": "URL", "help": "Nomad HTTP API address. Default: NOMAD_ADDR, "
                                    f"else {DEFAULT_ADDRESS}."}),
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
    ("--nomad-timeout", "nomad_timeout", {"type": Seconds(), "metavar": "SECONDS", "help": "Total time for each "
                                          f"request to Nomad, every byte of the answer included (default "
                                          f"{DEFAULT_TIMEOUT:g})."}),
]
# Options that shape the rendered jobs (render uses these).
_JOBS: list[tuple[str, str, dict[str, Any]]] = [
    ("--nomad-namespace", "nomad_namespace", {"metavar": "NS", "help": "Nomad namespace. Default: NOMAD_NAMESPACE, "
                                              "else the config's nomad.namespace."}),
    ("--nomad-region", "nomad_region", {"metavar": "REGION", "help": "Nomad region. Default: NOMAD_REGION, else "
                                        "the config's nomad.region."}),
    ("--job-template", "job_template", {"metavar": "PATH", "help": "Jinja2 job template (overrides the config's "
                                        "nomad.job_template)."}),
]
_ADOPT: list[tuple[str, str, dict[str, Any]]] = [
    ("--adopt", "adopt", {"is_flag": True, "default": False, "help": "Manage existing Nomad jobs that have a "
                          "model's job name but are not modelsched's."}),
]
_OPTIONS = _CONNECTION[:1] + _JOBS[:2] + _CONNECTION[1:] + _JOBS[2:] + _ADOPT
NAMES = [name for _, name, _ in _OPTIONS]
RENDER_NAMES = [name for _, name, _ in _JOBS]


def _decorator(options: list[tuple[str, str, dict[str, Any]]]) -> Callable[[F], F]:
    names = [name for _, name, _ in options]

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs["nomad_opts"] = {name: kwargs.pop(name, None) for name in names}
            return f(*args, **kwargs)

        cmd: Any = wrapper
        for flag, name, extra in reversed(options):
            extra = dict(extra)
            extra.setdefault("default", None)
            cmd = click.option(flag, name, **extra)(cmd)
        return cmd  # type: ignore[no-any-return]

    return decorate


nomad_options = _decorator(_OPTIONS)
nomad_options.__doc__ = "Add every Nomad option; the command receives them as one `nomad_opts` dict."
# `render` never contacts Nomad: only the options that shape the jobs.
render_options = _decorator(_JOBS)
