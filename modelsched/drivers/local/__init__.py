"""The local driver: a cluster described by a YAML/JSON state file (the embedded default)."""

from modelsched.drivers.local.driver import LocalDriver

__all__ = ["LocalDriver"]
