"""Fixtures for the LocalAI driver tests: the LocalAI API test server, the real CLI in-process,
and a background reconciler so apply's wait sees LocalAI place replicas."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modelsched.drivers.localai import apply as apply_mod
from tests.clirun import Result
from tests.localaisim.fixtures import ADMIN_KEY, USER_KEY
from tests.localaisim.server import LocalAISim

__all__ = ["ADMIN_KEY", "USER_KEY", "Result"]


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply_mod, "POLL_SECONDS", 0.02)
    for var in ("LOCALAI_ADDR", "LOCALAI_API_KEY", "LOCALAI_CACERT", "LOCALAI_SKIP_VERIFY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def sim() -> Iterator[LocalAISim]:
    with LocalAISim(admin_keys={ADMIN_KEY}, user_keys={USER_KEY}) as server:
        yield server


class Ticker:
    """Runs the sim's reconciler every few milliseconds while started (LocalAI: every 30 s)."""

    def __init__(self, sim: LocalAISim) -> None:
        self.sim = sim
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sim.tick()
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


@pytest.fixture
def reconciler(sim: LocalAISim) -> Iterator[Ticker]:
    ticker = Ticker(sim)
    ticker.start()
    yield ticker
    ticker.stop()


def env_for(sim: LocalAISim, key: str | None = ADMIN_KEY) -> dict[str, str]:
    env = {"LOCALAI_ADDR": sim.address}
    if key is not None:
        env["LOCALAI_API_KEY"] = key
    return env


@pytest.fixture
def config(tmp_path: Path) -> Callable[[list[dict[str, Any]]], str]:
    """Write scheduling entries (LocalAI's format) to a file; returns its path."""

    def write(entries: list[dict[str, Any]]) -> str:
        path = tmp_path / "scheduling.json"
        path.write_text(json.dumps(entries))
        return str(path)

    return write


def replicas_by_node(sim: LocalAISim, model: str) -> dict[str, int]:
    """Node name -> loaded replicas of `model`."""
    names = {n.id: n.name for n in sim.state.nodes.values()}
    out: dict[str, int] = {}
    for r in sim.replicas(model):
        if r["state"] == "loaded":
            out[names[r["node_id"]]] = out.get(names[r["node_id"]], 0) + 1
    return dict(sorted(out.items()))


def writes(sim: LocalAISim) -> list[tuple[str, str]]:
    """(method, path) of every request that is not a GET."""
    return [(m, p) for m, p, _ in sim.requests if m != "GET"]
