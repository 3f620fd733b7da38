"""Plan builders for output tests: plans with exactly the parts a test needs."""

from __future__ import annotations

from typing import Any

from modelsched.model.plan import Change, Diagnostic, ModelPlan, Operation, Plan, Summary, UnlistedModel


def change(model: str, node: str, action: str = "add", reason: str = "spread", **labels: str) -> Change:
    return Change(model=model, node=node, action=action, reason=reason, labels=labels, node_id=node)  # type: ignore[arg-type]


def model(
    name: str, mode: str = "spread", current: int = 0, target: int = 0, matching: int = 0, **sel: str
) -> ModelPlan:
    return ModelPlan(
        model=name,
        mode=mode,
        selector=sel,
        matching_nodes=matching,
        current=current,
        target=target,  # type: ignore[arg-type]
    )


def make_plan(
    changes: list[Change] = (),  # type: ignore[assignment]
    models: list[ModelPlan] = (),  # type: ignore[assignment]
    *,
    operations: list[Operation] = (),  # type: ignore[assignment]
    unlisted: list[UnlistedModel] = (),  # type: ignore[assignment]
    diagnostics: list[Diagnostic] = (),  # type: ignore[assignment]
    prune: bool = False,
    driver: str = "local",
    cluster: dict[str, str] | None = None,
    **kw: Any,
) -> Plan:
    changes = sorted(changes, key=Change.sort_key)
    adds = sum(1 for c in changes if c.action == "add")
    restarts = sum(op.restarts for op in operations)
    return Plan(
        generator="modelsched 0.1.0",
        driver=driver,
        cluster={"state": "/srv/cluster.yaml"} if cluster is None else cluster,
        prune=prune,
        desired_digest="sha256:d",
        observed_fingerprint="sha256:o",
        changes=changes,
        models=list(models),
        operations=list(operations),
        unlisted=list(unlisted),
        diagnostics=list(diagnostics),
        summary=Summary(add=adds, remove=len(changes) - adds, restart=restarts),
        **kw,
    )


def example_plan() -> Plan:
    """The shape of the bundled example's plan: spread and bounded models, a removal."""
    return make_plan(
        [
            change("gpt-oss", "gpu-3", "remove", "node_unhealthy", tier="gpu", zone="b"),
            change("gpt-oss", "gpu-2", tier="gpu", zone="b"),
            change("nomic-embed-text", "cpu-1", tier="cpu", zone="a"),
            change("nomic-embed-text", "gpu-2", tier="gpu", zone="b"),
            change("qwen-small", "cpu-1", "add", "min_replicas", tier="cpu", zone="a"),
        ],
        [
            model("gpt-oss", "spread", 2, 2, 2, tier="gpu"),
            model("nomic-embed-text", "spread", 0, 2, 2),
            model("qwen-small", "bounded", 0, 1, 1, tier="cpu"),
            model("whisper", "bounded", 1, 1, 1, tier="cpu"),
        ],
    )


def churn_plan(nodes: int = 5000, models: int = 500, groups: int = 8) -> Plan:
    """A synthetic large plan shaped like the benchmark's churn (10% of nodes changed):
    every 10th node loses the replicas of its group's models and the next node gains them."""
    changes = []
    per_group = [f"model-{i:04d}" for i in range(models)]
    for n in range(0, nodes, 10):
        group = n % groups
        labels = {"group": f"g{group}", "zone": f"z{n % 3}"}
        for name in per_group[group::groups]:
            changes.append(Change(name, f"node-{n:06d}", "remove", "node_unhealthy", labels, f"node-{n:06d}"))
            peer = f"node-{n + 1:06d}"
            changes.append(Change(name, peer, "add", "spread", {"group": f"g{group}", "zone": "z9"}, peer))
    plans = [
        model(f"model-{i:04d}", "spread", nodes // groups, nodes // groups, nodes // groups, group=f"g{i % groups}")
        for i in range(models)
    ]
    return make_plan(changes, plans)
