"""Makes the LocalAISim fixtures available to the simulator's own tests."""

from tests.localaisim.fixtures import localai_sim

__all__ = ["localai_sim"]
