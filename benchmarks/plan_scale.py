"""Plan-at-scale benchmark for the local driver (not a test: run it by hand).

Two cluster shapes, each as a converged state (the steady plan is empty) and with
10% of the nodes changed, at 1x, 2x and 4x the node count (models fixed, so replicas
and bytes grow with the nodes):

- `simple`: N nodes over 8 label groups, M models (half spread, half bounded), each
  selector one label; the change is half down, half relabelled.
- `realistic`: nodes with 3-6 labels; 2-key and 1-key spread selectors, bounded
  models with 1- to 3-key and empty selectors, model names with colons
  (`llama3:8b-0007`); the churn is nodes down, draining, cordoned, relabelled,
  removed (their replicas left on an unknown node) and added, and one replica in a
  thousand duplicated on its node.

Three measurements, each file in `--rounds` fresh processes taken in turn over all
files (a noisy spell on a shared machine then hits every size alike), keeping the best:

1. in-process: `json.load` of the state alone vs observe + plan (time growth for 4x);
2. `--whole`: whole processes at 1x, realistic shape: `python -c 'json.load(...)'`
   vs `python -m modelsched plan` (text and `--format json`), time and peak RSS;
3. `--breakdown`: where one whole-process plan spends its time (imports, config,
   reading the state, planner, output), and with `--profile` the top functions by
   cProfile.

    python benchmarks/plan_scale.py [--nodes 5000] [--models 500] [--repeat 5] [--rounds 5]
                                    [--shape simple|realistic|both] [--whole] [--breakdown] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelsched.model.entry import Desired

# modelsched is imported inside the functions that need it: the process that launches
# the measured processes stays small, because a child's peak RSS (ru_maxrss) starts
# from its parent's size at fork.

GROUPS = 8


def build_desired(models: int) -> Desired:
    from modelsched.model.entry import Desired, Entry

    entries = []
    for i in range(models):
        selector = {"group": f"g{i % GROUPS}"}
        if i % 2 == 0:
            entries.append(Entry(model_name=f"model-{i:04d}", node_selector=selector, spread=True))
        else:
            entries.append(Entry(model_name=f"model-{i:04d}", node_selector=selector, min_replicas=2, max_replicas=4))
    return Desired(entries=tuple(entries))


def build_state(nodes: int, desired: Desired) -> dict[str, Any]:
    from modelsched.model.cluster import Node, Observed
    from modelsched.planner import plan

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
    from modelsched.model.entry import Desired, Entry

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
    from modelsched.model.cluster import Node, Observed
    from modelsched.planner import plan

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
    """In this process: best `json.load` time, best observe + plan time, peak traced memory."""
    from modelsched.drivers.local import LocalDriver
    from modelsched.workflow import plan_with

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


def desired_for(shape: str, models: int) -> Desired:
    return realistic_desired(models) if shape == "realistic" else build_desired(models)


def states_for(shape: str, nodes: int, desired: Desired) -> list[tuple[str, dict[str, Any]]]:
    if shape == "realistic":
        steady = realistic_state(nodes, desired)
        return [("steady", steady), ("10% churn", churn(steady, 0.10))]
    steady = build_state(nodes, desired)
    return [("steady", steady), ("10% changed", perturb(steady, 0.10))]


def config_entries(desired: Desired) -> list[dict[str, Any]]:
    """The scheduling config (LocalAI's format) that loads as `desired`."""
    out: list[dict[str, Any]] = []
    for e in desired.entries:
        entry: dict[str, Any] = {"model_name": e.model_name, "node_selector": dict(e.node_selector)}
        if e.spread:
            entry["replicas"] = "all"
        else:
            entry["min_replicas"] = e.min_replicas
            entry["max_replicas"] = e.max_replicas
        out.append(entry)
    return out


def write_states(tmp: Path, shape: str, nodes: int, models: int, fmt: str = "json") -> list[dict[str, Any]]:
    """Write the shape's states at `nodes` (and its config) in a child process; their
    label, path, replica count and size. `fmt`: json (compact), json2 (indented, as
    apply writes it), yaml (the layout apply writes), yaml-dump (`yaml.safe_dump`)."""
    cmd = [sys.executable, __file__, "--write", str(tmp), "--shape", shape, "--nodes", str(nodes)]
    cmd += ["--models", str(models), "--fmt", fmt]
    out: list[dict[str, Any]] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return out


def yaml_layout(state: dict[str, Any]) -> str:
    """The state in the layout of the bundled example and of apply's replicas block."""
    import yaml

    def flow(mapping: dict[str, str]) -> str:
        return "{" + ", ".join(f"{k}: {v}" for k, v in mapping.items()) + "}"

    lines = ["# benchmark cluster", "nodes:"]
    for n in state["nodes"]:
        lines.append(f"  - name: {n['name']}")
        lines.append(f"    labels: {flow(n['labels'])}")
        if "status" in n:
            lines.append(f"    status: {n['status']}")
        if "eligible" in n:
            lines.append(f"    eligible: {str(n['eligible']).lower()}")
    lines.append("")
    lines.append("replicas:")
    for r in state["replicas"]:
        lines.append("  - " + yaml.safe_dump(r, default_flow_style=True, width=10**6).strip())
    return "\n".join(lines) + "\n"


def _write(tmp: Path, shape: str, nodes: int, models: int, fmt: str) -> list[dict[str, Any]]:
    desired = desired_for(shape, models)
    (tmp / f"config-{shape}.json").write_text(json.dumps(config_entries(desired)))
    out = []
    for label, state in states_for(shape, nodes, desired):
        suffix = "json" if fmt.startswith("json") else "yaml"
        path = tmp / f"{shape}-{nodes}-{label[:2]}-{fmt}.{suffix}"
        if fmt == "json":
            path.write_text(json.dumps(state))
        elif fmt == "json2":
            path.write_text(json.dumps(state, indent=2) + "\n")
        elif fmt == "yaml":
            path.write_text(yaml_layout(state))
        else:
            import yaml

            path.write_text(yaml.safe_dump(state, sort_keys=False))
        out.append(
            {
                "label": label,
                "path": str(path),
                "replicas": len(state["replicas"]),
                "bytes": path.stat().st_size,
                "config": str(tmp / f"config-{shape}.json"),
            }
        )
    return out


def whole_process(cmd: Sequence[str], cwd: str | None = None) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of one fresh process; its output is discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def interleaved(
    commands: Mapping[str, Sequence[str]], rounds: int, cwd: str | None = None
) -> dict[str, tuple[float, float]]:
    """Best time and best peak RSS of each command over `rounds` rounds, commands in turn."""
    best: dict[str, tuple[float, float]] = {}
    for _ in range(rounds):
        for key, cmd in commands.items():
            t, rss = whole_process(cmd, cwd)
            old = best.get(key, (t, rss))
            best[key] = (min(old[0], t), min(old[1], rss))
    return best


def json_load_command(path: Path) -> list[str]:
    return [sys.executable, "-c", "import json, sys\nwith open(sys.argv[1], 'rb') as f: json.load(f)", str(path)]


def plan_command(config: Path, state: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "modelsched", "plan", "--config", str(config), "--state", str(state), *extra]


def measure_in_subprocess(path: Path, shape: str, models: int, repeat: int, peak: bool) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--measure", str(path), "--shape", shape, "--models", str(models)]
    cmd += ["--repeat", str(repeat), *(["--peak"] if peak else [])]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out)
    return result


def in_process(args: argparse.Namespace, shapes: list[str], tmp: Path) -> None:
    files = []
    for shape in shapes:
        for scale in (1, 2, 4):
            nodes = args.nodes * scale
            for f in write_states(tmp, shape, nodes, args.models):
                files.append((shape, scale, nodes, f["label"], f["replicas"], f["bytes"], Path(f["path"])))
    best: dict[Path, dict[str, float]] = {}
    for round_no in range(args.rounds):
        for shape, *_, path in files:
            m = measure_in_subprocess(path, shape, args.models, args.repeat, peak=round_no == 0)
            if path in best:
                old = best[path]
                m = {**old, "load": min(old["load"], m["load"]), "plan": min(old["plan"], m["plan"])}
            best[path] = m
    print(
        f"in-process: models={args.models}, best of {args.rounds} processes x {args.repeat} runs each, "
        f"python {sys.version.split()[0]}"
    )
    print(
        f"{'shape':>9} {'scale':>5} {'nodes':>7} {'state':>12} {'replicas':>9} {'MB':>6} {'load s':>8} "
        f"{'plan s':>8} {'plan/load':>9} {'vs 1x':>6} {'changes':>8} {'peak MB':>8}"
    )
    base = {(shape, label): best[path]["plan"] for shape, scale, _, label, _, _, path in files if scale == 1}
    goals = []
    for shape, scale, nodes, label, reps, size, path in files:
        m = best[path]
        growth = m["plan"] / base[(shape, label)]
        print(
            f"{shape:>9} {scale:>5} {nodes:>7} {label:>12} {reps:>9} {size / 2**20:>6.1f} {m['load']:>8.3f} "
            f"{m['plan']:>8.3f} {m['plan'] / m['load']:>9.2f} {growth:>6.2f} {int(m['changes']):>8} "
            f"{m['peak_mb']:>8.1f}"
        )
        if scale == 4:
            goals.append(
                f"time growth for 4x input, {shape}, {label}: {growth:.2f}x (goal <= 4.5x): "
                f"{'met' if growth <= 4.5 else 'NOT met'}"
            )
    print("\n".join(["", *goals]))


def whole(args: argparse.Namespace, tmp: Path) -> None:
    commands: dict[str, list[str]] = {}
    labels = []
    for f in write_states(tmp, "realistic", args.nodes, args.models):
        label, path, config = f["label"], Path(f["path"]), Path(f["config"])
        labels.append(label)
        commands[f"{label}|json.load"] = json_load_command(path)
        commands[f"{label}|plan"] = plan_command(config, path)
        commands[f"{label}|plan --format json"] = plan_command(config, path, "--format", "json")
    commands["|python -c pass"] = [sys.executable, "-c", "pass"]
    best = interleaved(commands, args.rounds)
    print(
        f"\nwhole process, realistic shape, {args.nodes} nodes, {args.models} models, "
        f"best of {args.rounds} interleaved rounds"
    )
    print(f"{'state':>10} {'command':>22} {'s':>7} {'peak MB':>8} {'vs json.load':>12}")
    for key, (t, rss) in best.items():
        label, what = key.split("|")
        load = best.get(f"{label}|json.load", (t, rss))[0]
        print(f"{label:>10} {what:>22} {t:>7.3f} {rss:>8.1f} {t / load:>12.2f}")
    print()
    for label in labels:
        load = best[f"{label}|json.load"][0]
        for what in ("plan", "plan --format json"):
            ratio = best[f"{label}|{what}"][0] / load
            print(
                f"whole-process `{what}` / `json.load`, {label}: {ratio:.2f} (goal <= 2): "
                f"{'met' if ratio <= 2 else 'NOT met'}"
            )


BREAKDOWN = """
import sys, time
t0 = time.perf_counter()
import modelsched.cli.main
t1 = time.perf_counter()
from modelsched import output
from modelsched.config.load import load_desired
from modelsched.drivers.local import LocalDriver
from modelsched.gcpause import paused_gc
from modelsched.planner import plan
from modelsched.model.plan import dump_plan
t2 = time.perf_counter()
desired = load_desired(sys.argv[1], {}, sys.stdin)
t3 = time.perf_counter()
driver = LocalDriver(sys.argv[2])
with paused_gc():
    observed = driver.observe(desired)
    t4 = time.perf_counter()
    the_plan = plan(desired, observed, driver="local", cluster=driver.cluster())
    t5 = time.perf_counter()
    text = output.format_plan(the_plan, "text", False)
    t6 = time.perf_counter()
    js = output.format_plan(the_plan, "json", False)
    t7 = time.perf_counter()
import json
print(json.dumps({"start-up imports (cli)": t1 - t0, "imports used by plan": t2 - t1, "config": t3 - t2,
                  "read + validate state": t4 - t3, "planner": t5 - t4, "text output": t6 - t5,
                  "json output": t7 - t6, "changes": len(the_plan.changes)}))
"""


def breakdown(args: argparse.Namespace, tmp: Path) -> None:
    written = write_states(tmp, "realistic", args.nodes, args.models)
    paths = {f["label"]: Path(f["path"]) for f in written}
    config = Path(written[0]["config"])
    print(f"\nbreakdown of one plan in a fresh process (best of {args.rounds}), realistic shape, {args.nodes} nodes")
    for label, path in paths.items():
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            cmd = [sys.executable, "-c", BREAKDOWN, str(config), str(path)]
            out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            best = {k: min(v, best.get(k, v)) for k, v in out.items()}
        changes = int(best.pop("changes"))
        print(f"  {label} ({changes} changes): " + ", ".join(f"{k} {v:.3f} s" for k, v in best.items()))
        if args.profile:
            profile(config, path)


def profile(config: Path, state: Path) -> None:
    from modelsched.cli.main import main as cli_main

    argv = sys.argv
    sys.argv = ["modelsched", "plan", "--config", str(config), "--state", str(state), "--format", "json"]
    prof = cProfile.Profile()
    with open(os.devnull, "w") as sink:
        stdout, sys.stdout = sys.stdout, sink
        try:
            prof.runcall(cli_main)
        except SystemExit:
            pass
        finally:
            sys.stdout, sys.argv = stdout, argv
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5, help="runs per process (best is kept)")
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per state file (best is kept)")
    parser.add_argument("--shape", choices=["simple", "realistic", "both"], default="both")
    parser.add_argument("--whole", action="store_true", help="whole-process plan vs json.load only")
    parser.add_argument("--breakdown", action="store_true", help="where a whole-process plan spends its time only")
    parser.add_argument("--profile", action="store_true", help="with --breakdown: cProfile top functions")
    parser.add_argument("--measure", metavar="STATE", help=argparse.SUPPRESS)
    parser.add_argument("--write", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--fmt", default="json", help=argparse.SUPPRESS)
    parser.add_argument("--peak", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        desired = desired_for(args.shape, args.models)
        print(json.dumps(measure(Path(args.measure), desired, args.repeat, args.peak)))
        return
    if args.write:
        print(json.dumps(_write(Path(args.write), args.shape, args.nodes, args.models, args.fmt)))
        return
    shapes = ["simple", "realistic"] if args.shape == "both" else [args.shape]
    with tempfile.TemporaryDirectory() as tmp:
        if args.whole:
            whole(args, Path(tmp))
        elif args.breakdown:
            breakdown(args, Path(tmp))
        else:
            in_process(args, shapes, Path(tmp))


if __name__ == "__main__":
    main()
