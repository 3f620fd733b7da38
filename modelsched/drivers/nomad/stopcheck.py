"""Check, at apply, that every allocation a saved plan stops is one the plan decided to remove.

A plan file is untrusted and its jobs digest can be recomputed by anyone: `jobops`
only proves the IDs are well formed. Before any write, against the cluster as just
re-observed, every allocation in an operation's `stops` and `wait.gone` must be a live
allocation of that operation's model, on the node the stop names, and be matched by a
planned `remove` change of that model on that node (one allocation per removal).
Anything else refuses the whole plan (PlanFileError, nothing applied). Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from modelsched.drivers.nomad.jobops import JobOp
from modelsched.errors import PlanFileError
from modelsched.model.cluster import Observed
from modelsched.model.plan import Change

SHOWN = 5  # problems named in the message


def _problems(ops: Sequence[JobOp], changes: Sequence[Change], observed: Observed) -> list[str]:
    removals = Counter((c.model, c.node_id) for c in changes if c.action == "remove")
    used: Counter[tuple[str, str]] = Counter()
    seen: set[str] = set()
    problems: list[str] = []
    for op in ops:
        where = dict(zip(observed.replica_ids.get(op.model, ()), observed.replicas.get(op.model, ()), strict=False))
        stated = {s.alloc_id: s.node_id for s in op.stops}
        if len(stated) != len(op.stops) or len(set(op.wait.gone)) != len(op.wait.gone):
            problems.append(f"job {op.job_id}: an allocation is listed twice")
        for alloc in dict.fromkeys([*(s.alloc_id for s in op.stops), *op.wait.gone]):
            node = where.get(alloc)
            if alloc in seen:
                problems.append(f"allocation {alloc} is listed by more than one job")
            elif node is None:
                problems.append(f"allocation {alloc} is not a running allocation of model {op.model!r} "
                                f"(job {op.job_id})")
            elif alloc in stated and stated[alloc] != node:
                problems.append(f"allocation {alloc} of model {op.model!r} runs on node {node}, "
                                f"not on node {stated[alloc]} as the plan says")
            elif used[(op.model, node)] >= removals[(op.model, node)]:
                problems.append(f"allocation {alloc} of model {op.model!r} on node {node}: the plan "
                                "removes no (further) replica of that model there")
            else:
                used[(op.model, node)] += 1
            seen.add(alloc)
    return problems


def check_stops(ops: Sequence[JobOp], changes: Sequence[Change], observed: Observed) -> None:
    """Raise PlanFileError naming the first problems if any stop or awaited removal is not
    backed by the plan's changes and the live allocations."""
    problems = _problems(ops, changes, observed)
    if problems:
        more = f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        raise PlanFileError(
            "the plan file stops allocations its changes do not remove: " + "; ".join(problems[:SHOWN]) + more
            + ". Nothing was applied: run `modelsched plan` again"
        )
