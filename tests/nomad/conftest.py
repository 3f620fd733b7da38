"""Fixtures for the Nomad driver tests: helper-1's Nomad API test server and flow helpers."""

from __future__ import annotations

from tests.cli.conftest import run  # noqa: F401  (the real CLI, in-process)
from tests.nomadsim.fixtures import nomad_sim, nomad_sim_acl  # noqa: F401
