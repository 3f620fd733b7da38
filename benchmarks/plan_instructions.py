"""Instruction counts (valgrind callgrind) for the plan-at-scale benchmark.

Wall time on a shared VM varies by +-30% and grows faster than the input once the
working set leaves the CPU caches; instruction counts do neither, so they show
whether the work itself grows linearly. For the same synthetic clusters as
`plan_scale.py` (1x and 4x nodes, steady and 10% changed) this counts the
instructions of `json.load` of the state alone and of the full observe + plan,
each in its own process, minus the cost of starting Python and importing
modelsched. Needs `valgrind` (Debian package); slow (a few minutes).

    PYTHONPATH=. python benchmarks/plan_instructions.py [--nodes 5000] [--models 500] [--shape simple|realistic]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from plan_scale import desired_for, states_for

CHILD = """
import json, sys
sys.path.insert(0, {bench!r})
from plan_scale import desired_for
from modelsched.drivers.local import LocalDriver
from modelsched.planner import plan
desired = desired_for({shape!r}, {models})
mode, path = sys.argv[1], sys.argv[2]
if mode == "load":
    with open(path, "rb") as fh:
        json.load(fh)
elif mode == "plan":
    driver = LocalDriver(path)
    plan(desired, driver.observe(desired))
"""


def instructions(script: Path, mode: str, state: Path) -> int:
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    cmd += [sys.executable, str(script), mode, str(state)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    found = re.search(r"Collected : (\d+)", out)
    if not found:
        raise SystemExit(f"no instruction count in valgrind's output:\n{out[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--shape", choices=["simple", "realistic"], default="simple")
    args = parser.parse_args()
    desired = desired_for(args.shape, args.models)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "child.py"
        script.write_text(CHILD.format(bench=str(Path(__file__).parent), models=args.models, shape=args.shape))
        files: dict[tuple[int, str], Path] = {}
        for scale in (1, 4):
            for label, state in states_for(args.shape, args.nodes * scale, desired):
                path = Path(tmp) / f"cluster-{scale}-{label[:2]}.json"
                path.write_text(json.dumps(state))
                files[(scale, label)] = path
        jobs = {("none", key): ("none", path) for key, path in files.items()}
        jobs |= {("load", key): ("load", path) for key, path in files.items()}
        jobs |= {("plan", key): ("plan", path) for key, path in files.items()}
        with ThreadPoolExecutor(max_workers=2) as pool:
            counts = dict(zip(jobs, pool.map(lambda job: instructions(script, *job), jobs.values()), strict=True))
    print(f"models={args.models}; instructions in millions, Python start-up and imports subtracted")
    print(f"{'state':>12} {'load 1x':>9} {'load 4x':>9} {'growth':>7} {'plan 1x':>9} {'plan 4x':>9} {'growth':>7} "
          f"{'plan/load 1x':>12} {'plan/load 4x':>12}")
    for label in dict.fromkeys(label for _, label in files):
        load = [(counts[("load", (s, label))] - counts[("none", (s, label))]) / 1e6 for s in (1, 4)]
        work = [(counts[("plan", (s, label))] - counts[("none", (s, label))]) / 1e6 for s in (1, 4)]
        print(f"{label:>12} {load[0]:>9.0f} {load[1]:>9.0f} {load[1] / load[0]:>7.2f} {work[0]:>9.0f} {work[1]:>9.0f} "
              f"{work[1] / work[0]:>7.2f} {work[0] / load[0]:>12.2f} {work[1] / load[1]:>12.2f}")


if __name__ == "__main__":
    main()
