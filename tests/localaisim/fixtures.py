"""Pytest fixtures for LocalAISim: import them into a conftest.py, or list this module in
`pytest_plugins`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.localaisim.server import LocalAISim

ADMIN_KEY = "localai-admin-key"  # a legacy API key (LOCALAI_API_KEY): a synthetic admin
USER_KEY = "localai-user-key"  # a DB API key of a user with role "user"


@pytest.fixture
def localai_sim() -> Iterator[LocalAISim]:
    """A started distributed LocalAISim; ADMIN_KEY is admin, USER_KEY a plain user."""
    with LocalAISim(admin_keys={ADMIN_KEY}, user_keys={USER_KEY}) as sim:
        yield sim
