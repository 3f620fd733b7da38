"""The driver interface shared by the local and Nomad backends.

A driver observes (eagerly, returning plain data), may attach driver data to a plan
(what it needs to apply it later), and applies a plan after checking it is not stale.
It never prints: progress goes through the `progress` callback the CLI passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from modelsched.model.cluster import Observed
from modelsched.model.entry import Desired
from modelsched.model.plan import Change, Plan

Progress = Callable[[str], None]


@dataclass
class ApplyReport:
    """What apply did. `ok` only when nothing failed and nothing was left out."""

    applied: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    not_attempted: list[Change] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_attempted and not self.errors


class Driver(Protocol):
    name: str

    def cluster(self) -> dict[str, str]:
        """Identity of the cluster, recorded in the plan file (state path, or Nomad address...)."""
        ...

    def observe(self, desired: Desired) -> Observed:
        """Read nodes and managed replicas. `desired` lets a backend narrow its queries."""
        ...

    def prepare(self, plan: Plan, desired: Desired, observed: Observed) -> Plan:
        """Return the plan with whatever driver data apply will need (may be the same plan)."""
        ...

    def apply(self, plan: Plan, progress: Progress) -> ApplyReport:
        """Re-observe, raise StalePlanError if the cluster moved, then apply and report."""
        ...
