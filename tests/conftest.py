"""Fixtures shared across the suite, registered once (no conftest imports another):
the in-process CLI (`run`) and the Nomad and LocalAI API test servers."""

pytest_plugins = ["tests.clirun", "tests.nomadsim.fixtures", "tests.localaisim.fixtures"]
