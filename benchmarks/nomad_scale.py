"""Nomad driver at scale, against the Nomad API test server (tests/nomadsim).

2,000 nodes, 200 models. Reports HTTP requests and wall time for observe + plan, for
apply on a cold cluster, and for a re-plan + apply of the converged cluster (which must
send no request for an unchanged job). Goals (issue §6): observe + plan <= 10 requests
plus one per distinct selector; apply issues no request for an unchanged job.

    /tmp/v/bin/python benchmarks/nomad_scale.py [--nodes 2000] [--models 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelsched.drivers.base import LineReporter
from modelsched.drivers.nomad import Connection, NomadDriver
from modelsched.model.entry import Desired, Entry
from modelsched.model.plan import Plan, dump_plan, load_plan
from modelsched.planner import plan as make_plan
from tests.nomadsim import NomadSim

TIERS = ("gpu", "cpu", "cpu", "cpu")
ZONES = ("a", "b", "c", "d", "e")


def cluster(sim: NomadSim, n: int) -> None:
    for i in range(n):
        sim.add_node(f"node-{i:05d}", meta={"tier": TIERS[i % 4], "zone": ZONES[(i // 4) % 5]},
                     datacenter="dc1" if i % 2 else "dc2")


def models(k: int) -> Desired:
    selectors = [{"tier": t, "zone": z} for t in ("gpu", "cpu") for z in ZONES]  # 10 distinct
    entries = []
    for i in range(k):
        sel = selectors[i % len(selectors)]
        if i % 10 == 0:
            entries.append(Entry(model_name=f"model-{i:03d}", node_selector=sel, spread=True))
        else:
            entries.append(Entry(model_name=f"model-{i:03d}", node_selector=sel,
                                 min_replicas=1 + i % 3, max_replicas=5))
    return Desired(entries=tuple(entries))


def plan_once(drv: NomadDriver, want: Desired) -> Plan:
    observed = drv.observe(want)
    p = make_plan(want, observed, prune=False, driver=drv.name, cluster=drv.cluster())
    return load_plan(dump_plan(drv.prepare(p, want, observed)), "bench")


def measure(sim: NomadSim, label: str, fn):  # type: ignore[no-untyped-def]
    sim.reset_requests()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    reqs = list(sim.requests)
    print(f"{label:<34} {len(reqs):>6} requests  {dt:8.2f} s")
    return out, reqs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=2000)
    ap.add_argument("--models", type=int, default=200)
    ap.add_argument("--no-wait", action="store_true", help="do not wait for allocations on apply")
    args = ap.parse_args()
    with NomadSim() as sim:
        sim.alloc_start_delay = 0.0
        cluster(sim, args.nodes)
        want = models(args.models)
        distinct = len({tuple(sorted(e.node_selector.items())) for e in want.entries})
        drv = NomadDriver(Connection(address=sim.address, timeout=60.0), wait=not args.no_wait, wait_timeout=600)
        print(f"{args.nodes} nodes, {args.models} models, {distinct} distinct selectors")
        p, reqs = measure(sim, "observe + plan (cold)", lambda: plan_once(drv, want))
        budget = 10 + distinct
        print(f"  budget <= {budget}: {'OK' if len(reqs) <= budget else 'EXCEEDED'}; "
              f"{p.summary.add} to add, {len(p.operations)} job operations")
        report, reqs = measure(sim, "apply (cold cluster)", lambda: drv.apply(p, LineReporter(lambda _m: None)))
        print(f"  ok={report.ok} applied={len(report.applied)} failed={len(report.failed)}; "
              f"registers={sum(1 for m, path, _ in reqs if m == 'POST' and path.startswith('/v1/job/'))}")
        p2, reqs = measure(sim, "observe + plan (converged)", lambda: plan_once(drv, want))
        print(f"  changes={len(p2.changes)} operations={len(p2.operations)}")
        _, reqs = measure(sim, "apply (converged, nothing to do)", lambda: drv.apply(p2, LineReporter(lambda _m: None)))
        job_reqs = [r for r in reqs if r[1].startswith("/v1/job/")]
        print(f"  requests for unchanged jobs: {len(job_reqs)}")
        first = want.entries[1]
        changed = Desired(entries=(first.model_copy(update={"vars": {"image": "localai/localai:v9"}}),
                                   *want.entries[:1], *want.entries[2:]))
        p3, _ = measure(sim, "observe + plan (1 job spec changed)", lambda: plan_once(drv, changed))
        _, reqs = measure(sim, "apply (1 job spec changed)", lambda: drv.apply(p3, LineReporter(lambda _m: None)))
        touched = sorted({path for _, path, _ in reqs if path.startswith("/v1/job/")})
        print(f"  operations={len(p3.operations)}; job paths touched: {touched}")


if __name__ == "__main__":
    main()
