"""The bundled LocalAI example plans and applies against the LocalAI API test server."""

from __future__ import annotations

from tests.clirun import EXAMPLES, Run
from tests.localai.conftest import Ticker, env_for, replicas_by_node
from tests.localaisim.server import LocalAISim

EXAMPLE = str(EXAMPLES / "localai" / "scheduling.yaml")


def test_the_localai_example_applies_and_then_plans_empty(run: Run, sim: LocalAISim, reconciler: Ticker) -> None:
    gpus = [sim.add_node(f"gpu-{i}", {"tier": "gpu"}) for i in (1, 2, 3)]
    cpu = sim.add_node("cpu-1", {"tier": "cpu"})
    for model, node in (("gpt-oss", gpus[0]), ("whisper", cpu), ("qwen-coder", gpus[1]), ("whisper", gpus[2])):
        sim.load_replica(node, model)
    got = run("apply", "--driver", "localai", "--config", EXAMPLE, "--auto-approve", env=env_for(sim))
    assert got.code == 0, got.err
    assert replicas_by_node(sim, "gpt-oss") == {"gpu-1": 1, "gpu-2": 1, "gpu-3": 1}
    assert replicas_by_node(sim, "whisper") == {"cpu-1": 1}
    assert sum(replicas_by_node(sim, "qwen-coder").values()) == 2
    assert "No changes." in run("plan", "--driver", "localai", "--config", EXAMPLE, env=env_for(sim)).out
