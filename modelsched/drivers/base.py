"""The driver contract: what a cluster backend implements (ARCHITECTURE.md "Drivers").

A driver observes (eagerly, returning plain data), may attach driver data to a plan
(what it needs to apply it later), and applies a plan after checking it is not stale.
It never prints: it reports through the `Reporter` the workflow passes. A driver is
immutable once built: whatever it learns in `observe` travels in `Observed.private`
and, for apply, in the plan's `driver_data` (typed by the driver, decoded in one place).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from modelsched.model.cluster import Observed
from modelsched.model.entry import Desired
from modelsched.model.plan import Change, Plan


@dataclass(frozen=True, slots=True)
class ModelProgress:
    """One model while apply waits: replicas running of those wanted, pending, failed;
    `detail` carries the backend's reason when something cannot be placed."""

    model: str
    running: int
    wanted: int
    pending: int = 0
    failed: int = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class WaitStatus:
    """A snapshot of the wait after apply: per-model progress and seconds elapsed."""

    elapsed: float
    models: tuple[ModelProgress, ...]


class Reporter(Protocol):
    """Where a driver reports during apply. Calling it reports one event line
    (`reporter("nomad: registered job x")`); `waiting` reports the wait's progress."""

    def __call__(self, message: str) -> None: ...

    def waiting(self, status: WaitStatus) -> None: ...


# Kept for the drivers' signatures: the reporter is what they call with each message.
Progress = Reporter


class LineReporter:
    """A Reporter that passes event lines to `sink` and ignores wait snapshots."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self._sink = sink

    def __call__(self, message: str) -> None:
        self._sink(message)

    def waiting(self, status: WaitStatus) -> None:
        del status


@dataclass
class ApplyReport:
    """What apply did. `ok` only when nothing failed and nothing was left out.

    `interrupted`: the user pressed Ctrl-C; the driver stopped (between requests, or
    while waiting) and reports what it had done. `status`: the last wait snapshot
    (what runs, what is pending), for the timeout and interrupt reports."""

    applied: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    not_attempted: list[Change] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    status: WaitStatus | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_attempted and not self.errors and not self.interrupted


class Driver(Protocol):
    name: str

    def cluster(self) -> dict[str, str]:
        """Identity of the cluster, recorded in the plan file (state path, or Nomad address...)."""
        ...

    def observe(self, desired: Desired) -> Observed:
        """Read nodes and managed replicas. `desired` lets a backend narrow its queries."""
        ...

    def prepare(self, plan: Plan, desired: Desired, observed: Observed) -> Plan:
        """Return the plan with whatever driver data apply will need (may be the same plan).
        Reads what observe learnt from `observed.private`, never from driver attributes."""
        ...

    def verify_config(self, plan: Plan, desired: Desired) -> None:
        """A saved plan applied with a config source given: refuse (PlanFileError) when the
        plan's driver data is not what that config gives now (a plan file edited in
        transit). The workflow has already checked the config's digest; a driver whose
        plan data holds nothing derived from the config does nothing."""
        ...

    def apply(self, plan: Plan, progress: Reporter) -> ApplyReport:
        """Re-observe, raise StalePlanError if the cluster moved (its message starts
        `Saved plan is stale` and says what moved: `model.drift.describe`), then apply
        and report. Ctrl-C (KeyboardInterrupt) stops it: it returns the report with
        `interrupted` set, the rest in `not_attempted`."""
        ...
