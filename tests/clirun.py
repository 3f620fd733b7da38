"""The `run` fixture: the real CLI entry point (with its error boundary), in-process.

Registered for the whole suite by `tests/conftest.py` (`pytest_plugins`); import
`Run`, `Result` and `EXAMPLES` from here for type hints and paths."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelsched.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@dataclass
class Result:
    code: int
    out: str
    err: str


class _Stdin(io.StringIO):
    def __init__(self, text: str, tty: bool) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


Run = Callable[..., Result]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Run:
    for var in (
        "MODELSCHED_SCHEDULING",
        "MODELSCHED_SCHEDULING_CONFIG",
        "LOCALAI_MODEL_SCHEDULING",
        "LOCALAI_MODEL_SCHEDULING_CONFIG",
        "MODELSCHED_DRIVER",
        "MODELSCHED_STATE",
        "MODELSCHED_DEBUG",
        "NO_COLOR",
        "TERM",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, input: str = "", tty: bool = False, env: dict[str, str] | None = None) -> Result:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(sys, "stdin", _Stdin(input, tty))
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        for key in env or {}:
            monkeypatch.delenv(key)
        return Result(code, captured.out, captured.err)

    return invoke
