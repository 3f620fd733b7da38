"""Config load for 1,000 entries: goal well under 0.1 s (the config side of rendering once per template).

Writes two scheduling configs of N entries, each as YAML and as JSON: `localai` (the
keys of LocalAI's format only: name, a selector, spread or min/max) and `rich`
(selectors with one or two labels, routing fields, `vars` with an image, resources
and an env map; every tenth entry reuses a YAML anchor), then times
`config.load.load_desired` in fresh processes: min of R interleaved runs, each the
in-process load (imports excluded, so the figure is the reader's own work), as CPU
time (what the goal is judged on: the 2 cores are shared, and wall time under load
counts other processes' work) and wall time. Prints the goal and `met` / `not met`,
with the load average.

    python benchmarks/config_scale.py [--entries 1000] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

GOAL_SECONDS = 0.1
ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from modelsched.config.load import load_desired
start, cpu = time.perf_counter(), time.process_time()
desired = load_desired(sys.argv[1], {{}})
elapsed, used = time.perf_counter() - start, time.process_time() - cpu
assert len(desired.entries) == int(sys.argv[2])
print(used, elapsed)
"""


def entry(i: int, rich: bool = True) -> dict[str, object]:
    data: dict[str, object] = {"model_name": f"model-{i:04d}:{'8b' if i % 3 else '70b'}"}
    data["node_selector"] = {"tier": "gpu"} if i % 2 else {"tier": "cpu", "zone": f"z{i % 4}"}
    if i % 5 == 0:
        data["replicas"] = "all"
    else:
        data["min_replicas"] = 1 + i % 3
        data["max_replicas"] = 4 + i % 3
    if not rich:
        return data
    data["route_policy"] = "prefix_cache" if i % 4 == 0 else ""
    data["vars"] = {
        "image": f"localai/localai:v2.{i % 30}-cuda12",
        "resources": {"cpu": 2000 + i, "memory": 8192, "gpu": 1},
        "env": {"THREADS": str(4 + i % 8), "CONTEXT_SIZE": "8192"},
    }
    return data


def yaml_text(n: int, rich: bool = True) -> str:
    import yaml

    lines = []
    for i in range(n):
        text = yaml.safe_dump([entry(i, rich)], sort_keys=False, width=200)
        if not rich:
            pass
        elif i % 10 == 1 and i > 1:  # reuse the anchored vars of entry 1
            text = text.split("  vars:")[0] + "  vars: *shared\n"
        elif i == 1:
            text = text.replace("  vars:", "  vars: &shared", 1)
        lines.append(text)
    return "".join(lines)


def measure(path: Path, n: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one load in a fresh process."""
    code = CHILD.format(root=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code, str(path), str(n)], capture_output=True, text=True, check=True)
    cpu, wall = out.stdout.split()
    return float(cpu), float(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} (2 shared cores)")
    with tempfile.TemporaryDirectory() as tmp:
        for shape, rich in (("localai", False), ("rich", True)):
            files = {"yaml": Path(tmp) / f"{shape}.yaml", "json": Path(tmp) / f"{shape}.json"}
            files["yaml"].write_text(yaml_text(args.entries, rich))
            files["json"].write_text(json.dumps([entry(i, rich) for i in range(args.entries)], indent=2))
            results: dict[str, list[tuple[float, float]]] = {"yaml": [], "json": []}
            for _ in range(args.runs):  # interleaved: YAML, JSON, YAML, JSON, ...
                for fmt, path in files.items():
                    results[fmt].append(measure(path, args.entries))
            for fmt, path in files.items():
                cpu = min(c for c, _ in results[fmt])
                wall = min(w for _, w in results[fmt])
                verdict = "met" if cpu < GOAL_SECONDS else "not met"
                size = path.stat().st_size / 1024
                print(
                    f"config load, {args.entries} entries, {shape} {fmt} ({size:.0f} KB): "
                    f"CPU min {cpu * 1000:.1f} ms, wall min {wall * 1000:.1f} ms, of {args.runs} "
                    f"(goal < {GOAL_SECONDS * 1000:.0f} ms CPU): {verdict}"
                )

if __name__ == "__main__":
    main()
