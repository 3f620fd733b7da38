"""The HashiCorp Nomad driver: one Nomad job per model, owned through job Meta.

Modules: `client` (every python-nomad call, error mapping), `conncheck` (connection
settings checked before any request), `translate` (pure Nomad
JSON -> typed data), `observe` (bounded request budget), `render` + `jobspec` +
`schema` (jobs from Jinja2 templates, placement fields, validation), `prepare`
(operations and driver data), `apply` (check-index registers, wait), `driver`.
"""

from modelsched.drivers.nomad.client import Connection
from modelsched.drivers.nomad.driver import NomadDriver

__all__ = ["Connection", "NomadDriver"]
