"""The LocalAI driver: a distributed LocalAI frontend's admin API (scheduling rows, per-node
replicas). Removals are exact (unload per node); additions are placed by LocalAI's reconciler."""

from modelsched.drivers.localai.connection import Connection
from modelsched.drivers.localai.driver import LocalAIDriver

__all__ = ["Connection", "LocalAIDriver"]
