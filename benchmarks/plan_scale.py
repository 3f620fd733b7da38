"""Plan-at-scale benchmark for the local driver (not a test: run it by hand).

Builds a synthetic cluster in a JSON state file: N nodes over 8 label groups, M
models (half spread, half bounded), each selector matching about one group, with
the replicas of a converged cluster (so the steady-state plan is empty). Measures,
in one process, `json.load` of the state alone and the full observe + plan, then
the same with 10% of nodes changed (half down, half relabelled), at 1x, 2x and 4x
the node count (M fixed, so replicas and bytes grow with N). Peak memory of one
observe + plan is measured separately with tracemalloc.

    python benchmarks/plan_scale.py [--nodes 5000] [--models 500] [--repeat 5] [--rounds 5]

Each state file is measured in `--rounds` fresh processes, taken in turn over all
files, keeping the best time: on a shared machine a noisy spell then cannot land on
one size only and fake (or hide) a superlinear growth.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelsched.drivers.local import LocalDriver
from modelsched.model.cluster import Node, Observed
from modelsched.model.entry import Desired, Entry
from modelsched.planner import plan
from modelsched.workflow import plan_with

GROUPS = 8


def build_desired(models: int) -> Desired:
    entries = []
    for i in range(models):
        selector = {"group": f"g{i % GROUPS}"}
        if i % 2 == 0:
            entries.append(Entry(model_name=f"model-{i:04d}", node_selector=selector, spread=True))
        else:
            entries.append(
                Entry(model_name=f"model-{i:04d}", node_selector=selector, min_replicas=2, max_replicas=4)
            )
    return Desired(entries=tuple(entries))


def build_state(nodes: int, desired: Desired) -> dict[str, Any]:
    names = [f"node-{i:06d}" for i in range(nodes)]
    labels = [{"group": f"g{i % GROUPS}", "zone": f"z{i % 3}"} for i in range(nodes)]
    raw_nodes = [{"name": name, "labels": lab} for name, lab in zip(names, labels, strict=True)]
    observed = Observed(
        nodes=tuple(Node(name, name, lab) for name, lab in zip(names, labels, strict=True)),
        replicas={},
        fingerprint="",
    )
    converged = plan(desired, observed)
    replicas = [{"model": c.model, "node": c.node_id} for c in converged.changes]
    return {"nodes": raw_nodes, "replicas": replicas}


GPUS = ("a100", "h100", "l4")
ZONES = ("eu-1", "eu-2", "us-1")
FAMILIES = ("llama3", "qwen2.5", "mistral", "phi3", "gemma2")


def realistic_desired(models: int) -> Desired:
    """A mixed config: 2-key spread selectors, 1-key spread selectors, bounded models with
    1- to 3-key selectors, empty selectors, and model names with colons (`llama3:8b-0007`)."""
    entries = []
    for i in range(models):
        name = f"{FAMILIES[i % 5]}:{8 * (1 + i % 9)}b-{i:04d}" if i % 2 else f"model-{i:04d}"
        kind = i % 10
        selector: dict[str, str]
        if kind < 4:
            selector = {"gpu": GPUS[i % 3], "zone": ZONES[(i // 3) % 3]}
        elif kind == 4:
            selector = {"rack": f"r{i % 40:02d}"}
        elif kind == 5:
            selector = {"gpu": GPUS[i % 3], "tier": "prod"}
        elif kind == 6:
            selector = {}
        elif kind == 7:
            selector = {"gpu": GPUS[i % 3]}
        else:
            selector = {"gpu": GPUS[i % 3], "zone": ZONES[i % 3], "tier": "prod"}
        if kind < 6:
            entries.append(Entry(model_name=name, node_selector=selector, spread=True))
        else:
            entries.append(Entry(model_name=name, node_selector=selector, min_replicas=2, max_replicas=4 + i % 5))
    return Desired(entries=tuple(entries))


def realistic_nodes(nodes: int, start: int = 0) -> list[dict[str, Any]]:
    """Nodes with 3-6 labels: gpu, zone, rack always; tier, pool, cuda on some."""
    out: list[dict[str, Any]] = []
    for i in range(start, start + nodes):
        labels = {"gpu": GPUS[i % 3], "zone": ZONES[(i // 3) % 3], "rack": f"r{i % 40:02d}"}
        if i % 2:
            labels["tier"] = "prod"
        if i % 3 == 0:
            labels["pool"] = f"p{i % 4}"
        if i % 5 == 0:
            labels["cuda"] = "12.4"
        out.append({"name": f"gpu-node-{i:06d}", "labels": labels})
    return out


def realistic_state(nodes: int, desired: Desired) -> dict[str, Any]:
    raw_nodes = realistic_nodes(nodes)
    observed = Observed(
        nodes=tuple(Node(n["name"], n["name"], n["labels"]) for n in raw_nodes), replicas={}, fingerprint=""
    )
    converged = plan(desired, observed)
    return {"nodes": raw_nodes, "replicas": [{"model": c.model, "node": c.node_id} for c in converged.changes]}


def churn(state: dict[str, Any], fraction: float, seed: int = 11) -> dict[str, Any]:
    """`fraction` of the nodes changed, in equal parts: down, draining, cordoned, relabelled,
    removed (their replicas stay, on an unknown node); as many nodes added; and one replica
    in a thousand duplicated on its node."""
    rng = random.Random(seed)
    nodes = [dict(n) for n in state["nodes"]]
    picked = rng.sample(range(len(nodes)), int(len(nodes) * fraction))
    removed = set()
    for k, i in enumerate(picked):
        kind = k % 5
        if kind == 0:
            nodes[i]["status"] = "down"
        elif kind == 1:
            nodes[i]["status"] = "draining"
        elif kind == 2:
            nodes[i]["eligible"] = False
        elif kind == 3:
            labels = dict(nodes[i]["labels"])
            labels["gpu"] = GPUS[(GPUS.index(labels["gpu"]) + 1) % 3]
            labels.pop("tier", None) if "tier" in labels else labels.update(tier="prod")
            nodes[i]["labels"] = labels
        else:
            removed.add(i)
    kept = [n for i, n in enumerate(nodes) if i not in removed]
    kept += realistic_nodes(len(removed), start=len(nodes) + 1_000_000)
    replicas = list(state["replicas"])
    for j in rng.sample(range(len(replicas)), len(replicas) // 1000):
        replicas.append(dict(replicas[j]))
    return {"nodes": kept, "replicas": replicas}


def perturb(state: dict[str, Any], fraction: float, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    nodes = [dict(n) for n in state["nodes"]]
    picked = rng.sample(range(len(nodes)), int(len(nodes) * fraction))
    for k, i in enumerate(picked):
        if k % 2 == 0:
            nodes[i]["status"] = "down"
        else:
            group = int(nodes[i]["labels"]["group"][1:])
            nodes[i]["labels"] = {**nodes[i]["labels"], "group": f"g{(group + 1) % GROUPS}"}
    return {"nodes": nodes, "replicas": state["replicas"]}


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(path: Path, desired: Desired, repeat: int, peak: bool) -> dict[str, float]:
    driver = LocalDriver(path)

    def load_only() -> object:
        with path.open("rb") as fh:
            return json.load(fh)

    def observe_plan() -> object:
        return plan_with(driver, desired, prune=False)

    t_load = best_of(repeat, load_only)
    t_plan = best_of(repeat, observe_plan)
    result = observe_plan()
    changes = len(result.changes)  # type: ignore[attr-defined]
    peak_mb = 0.0
    if peak:
        tracemalloc.start()
        observe_plan()
        peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return {"load": t_load, "plan": t_plan, "changes": changes, "peak_mb": peak_mb}


def measure_in_subprocess(path: Path, models: int, repeat: int, peak: bool) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--measure", str(path), "--models", str(models), "--repeat", str(repeat)]
    out = subprocess.run([*cmd, *(["--peak"] if peak else [])], check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5, help="runs per process (best is kept)")
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per state file (best is kept)")
    parser.add_argument("--measure", metavar="STATE", help=argparse.SUPPRESS)
    parser.add_argument("--peak", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    desired = build_desired(args.models)
    if args.measure:
        print(json.dumps(measure(Path(args.measure), desired, args.repeat, args.peak)))
        return
    files = []
    with tempfile.TemporaryDirectory() as tmp:
        for scale in (1, 2, 4):
            nodes = args.nodes * scale
            steady = build_state(nodes, desired)
            for label, state in (("steady", steady), ("10% changed", perturb(steady, 0.10))):
                path = Path(tmp) / f"cluster-{scale}-{label[:2]}.json"
                path.write_text(json.dumps(state))
                files.append((scale, nodes, label, len(state["replicas"]), path.stat().st_size, path))
        # Rounds go over every file in turn, so a noisy spell on a shared machine hits
        # all sizes alike; each file keeps its best load and best plan time.
        best: dict[Path, dict[str, float]] = {}
        for round_no in range(args.rounds):
            for *_, path in files:
                m = measure_in_subprocess(path, args.models, args.repeat, peak=round_no == 0)
                if path in best:
                    m = {**best[path], "load": min(best[path]["load"], m["load"]),
                         "plan": min(best[path]["plan"], m["plan"])}
                best[path] = m
    rows = [(scale, nodes, label, reps, size, best[path]) for scale, nodes, label, reps, size, path in files]
    base = {label: m["plan"] for scale, _, label, _, _, m in rows if scale == 1}
    print(f"models={args.models}, best of {args.rounds} processes x {args.repeat} runs each, "
          f"python {sys.version.split()[0]}")
    print(f"{'scale':>5} {'nodes':>7} {'state':>12} {'replicas':>9} {'MB':>6} {'load s':>8} "
          f"{'plan s':>8} {'plan/load':>9} {'vs 1x':>6} {'changes':>8} {'peak MB':>8}")
    for scale, nodes, label, reps, size, m in rows:
        print(
            f"{scale:>5} {nodes:>7} {label:>12} {reps:>9} {size / 2**20:>6.1f} {m['load']:>8.3f} "
            f"{m['plan']:>8.3f} {m['plan'] / m['load']:>9.2f} {m['plan'] / base[label]:>6.2f} "
            f"{int(m['changes']):>8} {m['peak_mb']:>8.1f}"
        )
    print()
    for scale, _, label, _, _, m in rows:
        if scale == 1:
            ratio = m["plan"] / m["load"]
            print(f"plan/load at 1x, {label}: {ratio:.2f} (goal <= 3): {'met' if ratio <= 3 else 'NOT met'}")
        if scale == 4:
            growth = m["plan"] / base[label]
            print(f"time growth for 4x input, {label}: {growth:.2f}x (goal <= 4.5x): "
                  f"{'met' if growth <= 4.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
