"""A stateful Nomad HTTP API test server (no Nomad binary exists on test machines).

Public API: `NomadSim` (server.py). Fixtures live in fixtures.py.
"""

from tests.nomadsim.server import NomadSim

__all__ = ["NomadSim"]
