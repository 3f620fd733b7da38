"""PURE planning: `plan(desired, observed) -> Plan`.

Imports the data model and the standard library only (a test enforces it): no I/O, no clock,
no printing. The same inputs always give the same plan, byte for byte.
"""

from modelsched.planner.applied import MissingReplicaError, applied
from modelsched.planner.core import plan

__all__ = ["MissingReplicaError", "applied", "plan"]
