"""Start-up time of the CLI, whole process: `modelsched --version` and a local `plan`.

Each command runs in a fresh process, N rounds, interleaved with `python -c pass` (so
a load spike hits every command alike); the minimum of each is reported, with its ratio
to the bare interpreter. Goal: `modelsched --version` within 0.1 s. Also lists which
heavy libraries a local plan imports (none of the Nomad stack).

    python benchmarks/startup.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
GOAL_VERSION = 0.1  # seconds, whole process
RUN_CLI = "import sys; from modelsched.cli.main import main; main(sys.argv[1:])"
HEAVY = ("nomad", "requests", "urllib3", "jinja2", "deepdiff")
PROBE = (
    "import atexit, sys\n"
    f"atexit.register(lambda: print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}),"
    " file=sys.stderr))\n" + RUN_CLI
)


def commands() -> dict[str, list[str]]:
    py = sys.executable
    plan = ["plan", "--config", str(EXAMPLES / "scheduling.yaml"), "--state", str(EXAMPLES / "cluster.yaml")]
    return {
        "python -c pass": [py, "-c", "pass"],
        "modelsched --version": [py, "-c", RUN_CLI, "--version"],
        "modelsched plan (local, example)": [py, "-c", RUN_CLI, *plan],
    }


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def heavy_imports(args: list[str]) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    cmds = commands()
    best = dict.fromkeys(cmds, float("inf"))
    for argv in cmds.values():  # warm the .pyc cache and the page cache
        timed(argv)
    for _ in range(rounds):
        for name, argv in cmds.items():
            best[name] = min(best[name], timed(argv))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"start-up, whole process, min of {rounds} interleaved rounds (load average {load:.2f})")
    base = best["python -c pass"]
    for name, seconds in best.items():
        print(f"  {name:<34} {seconds * 1000:7.1f} ms  {seconds / base:5.1f}x python -c pass")
    version = best["modelsched --version"]
    verdict = "met" if version <= GOAL_VERSION else "not met"
    print(f"goal: modelsched --version <= {GOAL_VERSION:.1f} s whole process: {version:.3f} s -> {verdict}")
    plan_args = cmds["modelsched plan (local, example)"][3:]
    print(f"heavy libraries imported by --version: {heavy_imports(['--version'])}")
    print(f"heavy libraries imported by a local plan: {heavy_imports(plan_args)}")


if __name__ == "__main__":
    main()
