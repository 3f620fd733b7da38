"""Plan-formatting benchmark (not a test: run it by hand).

Builds the benchmark churn plan (benchmarks/plan_scale.py's cluster with 10% of nodes
changed) at 1x, 2x and 4x the node count, then measures, in fresh processes taken in
turn, the time to format it as text, JSON, Markdown and HTML (best of `--repeat` per
process, best over `--rounds` processes). Linear formatting means time per change
stays flat as the plan grows.

    python benchmarks/output_scale.py [--nodes 5000] [--models 500] [--repeat 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from plan_scale import build_desired, build_state, perturb

from modelsched.model.cluster import Node, Observed, Replica
from modelsched.model.plan import Plan
from modelsched.output import format_plan
from modelsched.planner import plan

FORMATS = ("text", "json", "markdown", "html")


def churn_plan(nodes: int, models: int) -> Plan:
    desired = build_desired(models)
    state = perturb(build_state(nodes, desired), 0.10)
    observed = Observed.from_replicas(
        [Node(n["name"], n["name"], n["labels"], n.get("status", "ready")) for n in state["nodes"]],
        (Replica(r["model"], r["node"]) for r in state["replicas"]),
        "sha256:churn",
    )
    return plan(desired, observed)


def measure(path: Path, repeat: int) -> dict[str, float]:
    the_plan: Plan = pickle.loads(path.read_bytes())
    best: dict[str, float] = {}
    for fmt in FORMATS:
        times = []
        for _ in range(repeat):
            gc.collect()
            start = time.perf_counter()
            format_plan(the_plan, fmt)
            times.append(time.perf_counter() - start)
        best[fmt] = min(times)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", metavar="PICKLE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure), args.repeat)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        sizes = []
        for scale in (1, 2, 4):
            p = churn_plan(args.nodes * scale, args.models)
            path = Path(tmp) / f"plan-{scale}.pickle"
            path.write_bytes(pickle.dumps(p))
            sizes.append((scale, len(p.changes), path))
        best: dict[Path, dict[str, float]] = {}
        for _ in range(args.rounds):
            for *_, path in sizes:
                cmd = [sys.executable, __file__, "--measure", str(path), "--repeat", str(args.repeat)]
                got = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                best[path] = {f: min(got[f], best.get(path, got)[f]) for f in FORMATS}
        print(f"{'nodes':>7} {'changes':>8} " + " ".join(f"{f + ' s':>10} {'us/chg':>7}" for f in FORMATS))
        for scale, changes, path in sizes:
            cells = " ".join(f"{best[path][f]:>10.3f} {best[path][f] / changes * 1e6:>7.2f}" for f in FORMATS)
            print(f"{args.nodes * scale:>7} {changes:>8} {cells}")


if __name__ == "__main__":
    main()
