"""The HashiCorp Nomad driver: one Nomad job per model, owned through job Meta.

Modules: `build` (the driver from option values, for the workflow), `connection`
(the `Connection` and the one resolver of its settings),
`conncheck` (connection values checked before any request), `transport` (the HTTP
session: no redirects, a total deadline per request), `client` (every python-nomad
call), `failures` (typed errors, the token scrubbed), `answers` (shapes of Nomad's
answers checked before use), `nodeindex` (selectors and job scopes matched over node
stubs), `translate` (pure Nomad JSON -> typed data), `observe` (bounded request budget,
minimum version), `template` + `sandbox` + `jobspec` + `jobschema` (jobs from Jinja2
templates run with a work budget, placement fields, validation), `review` (jobs for
`render`), `prepare` (operations and driver data), `stopcheck` (a saved plan stops
only what its changes remove), `apply` (check-index registers, wait), `driver`.

Importing this package is light: `Connection` and `NomadDriver` load on first use, so
declaring CLI options never imports requests, python-nomad or Jinja2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelsched.drivers.nomad.connection import Connection
    from modelsched.drivers.nomad.driver import NomadDriver

__all__ = ["Connection", "NomadDriver"]


def __getattr__(name: str) -> Any:
    if name == "Connection":
        from modelsched.drivers.nomad.connection import Connection

        return Connection
    if name == "NomadDriver":
        from modelsched.drivers.nomad.driver import NomadDriver

        return NomadDriver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
