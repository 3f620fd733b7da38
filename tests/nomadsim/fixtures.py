"""Pytest fixtures for NomadSim: import them into a conftest.py to use them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.nomadsim.server import NomadSim

ACL_TOKEN = "secret-token-123"


@pytest.fixture
def nomad_sim() -> Iterator[NomadSim]:
    """A started NomadSim with ACL disabled, stopped after the test."""
    with NomadSim() as sim:
        yield sim


@pytest.fixture
def nomad_sim_acl() -> Iterator[NomadSim]:
    """A started NomadSim with ACL enabled; the only valid token is ACL_TOKEN."""
    with NomadSim(acl_tokens={ACL_TOKEN}) as sim:
        yield sim
