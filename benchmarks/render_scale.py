"""`modelsched render` of many models, whole process, in fresh processes.

Writes a config of N models (mixed spread/bounded, multi-key selectors, a colon in some
names as in `llama3:8b`), then runs `python -m modelsched render --config ...` (jobs to
stdout, which goes to /dev/null) and the same with `--out-dir` (one file per job: the
file system's cost shows apart) in fresh processes R times, interleaved with `python -c
pass` as the floor, and reports the minimum wall time, CPU time and peak RSS of each.
Goal: 1,000 models to stdout in <= 0.6 s wall (the template is compiled once per run,
not once per model).

    /work/venv/bin/python benchmarks/render_scale.py [--models 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 0.6


def config_text(models: int) -> str:
    lines = ["nomad:", "  job_name_prefix: ms-", "models:"]
    for i in range(models):
        name = f"llama3:{i}b" if i % 7 == 0 else f"model-{i:04d}"
        lines.append(f"  - model_name: {name!r}")
        lines.append(f"    node_selector: {{tier: {('gpu', 'cpu')[i % 2]}, zone: {'abcde'[i % 5]}}}")
        if i % 10 == 0:
            lines.append("    replicas: all")
        else:
            lines.append(f"    min_replicas: {1 + i % 3}")
            lines.append("    max_replicas: 5")
        lines.append(f"    vars: {{image: 'localai/localai:v{i % 4}', memory: {512 * (1 + i % 4)}}}")
    return "\n".join(lines) + "\n"


def run(cmd: list[str]) -> tuple[float, float, int, int]:
    """(wall s, CPU s, peak RSS KiB, exit code) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr is not None:
        proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "scheduling.yaml"
        config.write_text(config_text(args.models))
        out = Path(tmp) / "jobs"
        render = [sys.executable, "-m", "modelsched", "render", "--config", str(config)]
        commands = {
            "render": render,
            "render --out-dir": [*render, "--out-dir", str(out)],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        got: dict[str, list[tuple[float, float, int, int]]] = {label: [] for label in commands}
        for _ in range(args.runs):  # interleaved: all see the same machine load
            for label, cmd in commands.items():
                got[label].append(run(cmd))
        if any(code != 0 for label in ("render", "render --out-dir") for *_, code in got[label]):
            sys.exit("render failed; run it by hand to see why")
        written = len(list(out.iterdir()))
    print(f"render of {args.models} models to stdout (and {written} job files with --out-dir), "
          f"min of {args.runs} fresh processes")
    print(f"load: {os.getloadavg()[0]:.2f} (1 min average; 2 cores shared)")
    for label, runs in got.items():
        wall = min(r[0] for r in runs)
        cpu = min(r[1] for r in runs)
        rss = min(r[2] for r in runs)
        print(f"  {label:<16} wall {wall:6.3f} s   cpu {cpu:6.3f} s   peak RSS {rss / 1024:6.1f} MiB")
    best = min(r[0] for r in got["render"])
    ratio = best / min(r[0] for r in got["python -c pass"])
    print(f"  render / python -c pass: {ratio:.1f}x")
    verdict = "met" if best <= GOAL_SECONDS and args.models >= 1000 else "not met"
    print(f"goal: render of 1,000 models <= {GOAL_SECONDS} s whole process: {verdict} ({best:.3f} s wall, "
          f"{min(r[1] for r in got['render']):.3f} s CPU)")


if __name__ == "__main__":
    main()
