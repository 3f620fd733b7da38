"""The project's error types.

Every error a user can cause or a cluster can raise is a `ModelschedError`; the CLI's
single error boundary prints its message and exits 1 (no traceback unless --debug).
Messages must say where the problem is and must never contain secrets.
"""

from __future__ import annotations


class ModelschedError(Exception):
    """Base class: a problem to report to the user, not a bug."""


class ConfigError(ModelschedError):
    """The scheduling config is invalid. Carries every problem found, not just the first."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = "invalid scheduling config" if count == 1 else f"invalid scheduling config ({count} problems)"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class StateError(ModelschedError):
    """The local cluster state file is missing, unreadable or invalid."""


class PlanFileError(ModelschedError):
    """A saved plan file cannot be used (corrupt, another version, contradicting options)."""


class StalePlanError(ModelschedError):
    """The cluster or the config changed since the plan was made; nothing was applied.
    The message starts `Saved plan is stale` and says what moved."""


class PlanError(ModelschedError):
    """The plan carries error diagnostics (shown with the plan): it must not be applied."""


class DriverError(ModelschedError):
    """A cluster backend failed (unreachable, unauthorised, rejected, conflict)."""


class UsageError(ModelschedError):
    """A command-line option or setting is wrong, missing, or contradicts another one
    (or the saved plan): the user must change how modelsched is called."""


class NotFoundError(DriverError):
    """A cluster object the driver asked for is not there (an HTTP 404, recognised by its status)."""
