"""Kept-per-node benchmark (not a test: run it by hand).

`Plan.nodes` (the replicas a plan keeps on each node, for the HTML plan and saved
plans) is computed from the observed replicas and the changes. For the benchmark
churn cluster (benchmarks/plan_scale.py, 10% of nodes changed) at 1x, 2x and 4x the
node count this prints the best time of `--repeat` runs and the time per replica:
linear work keeps the time per replica flat; at 5,000 nodes x 500 models it should
cost well under 0.1 s.

    PYTHONPATH=. python benchmarks/kept_scale.py [--nodes 5000] [--models 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import time

from plan_scale import build_desired, build_state, perturb

from modelsched.model.cluster import Node, Observed, Replica
from modelsched.planner import plan
from modelsched.workflow.kept import kept_nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    desired = build_desired(args.models)
    for scale in (1, 2, 4):
        state = perturb(build_state(args.nodes * scale, desired), 0.10)
        observed = Observed.from_replicas(
            [Node(n["name"], n["name"], n["labels"], n.get("status", "ready")) for n in state["nodes"]],
            (Replica(r["model"], r["node"]) for r in state["replicas"]),
            "sha256:churn",
        )
        changes = plan(desired, observed).changes
        replicas = sum(len(v) for v in observed.replicas.values())
        best = float("inf")
        gc.disable()
        for _ in range(args.repeat):
            start = time.perf_counter()
            kept_nodes(observed, changes)
            best = min(best, time.perf_counter() - start)
        gc.enable()
        print(
            f"{args.nodes * scale:>6} nodes, {replicas:>7} replicas, {len(changes):>6} changes: "
            f"{best * 1000:6.1f} ms ({best / replicas * 1e9:.0f} ns per replica)"
        )


if __name__ == "__main__":
    main()
