"""A LocalAI admin-API (/api/nodes*) test server; no LocalAI binary exists on test machines.

Public API: `LocalAISim` (server.py). Fixtures live in fixtures.py. Every rule cites the
LocalAI Go source file/function it models (see README.md).
"""

from tests.localaisim.server import LocalAISim

__all__ = ["LocalAISim"]
