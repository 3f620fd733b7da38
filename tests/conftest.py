"""Fixtures shared across the suite, registered once (no conftest imports another)."""

pytest_plugins = ["tests.clirun"]
