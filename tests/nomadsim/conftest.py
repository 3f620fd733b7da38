"""Makes the NomadSim fixtures available to the simulator's own tests."""

from tests.nomadsim.fixtures import nomad_sim, nomad_sim_acl

__all__ = ["nomad_sim", "nomad_sim_acl"]
