"""The CLI tests use the suite-wide `run` fixture (tests/clirun.py, registered in
tests/conftest.py). These names stay importable from here for modules outside tests/cli
that still import them from this file."""

from tests.clirun import EXAMPLES, Result, Run, run

__all__ = ["EXAMPLES", "Result", "Run", "run"]
