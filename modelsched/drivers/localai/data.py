"""The LocalAI driver's typed data: what observe hands to prepare (`Observed.private`) and
what a plan carries to apply (`Plan.driver_data`).

Every class is a frozen, strict pydantic model. `decode_plan_data` is the ONE place a
plan file's driver data is read: the file is untrusted input, so names, node IDs and
counts are checked (no control characters, bounded lengths and counts, finite numbers,
no unknown keys) and a problem is a PlanFileError naming the field. No I/O here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationError

from modelsched.errors import PlanFileError
from modelsched.model.base import StrictModel

DATA_VERSION = 1
MAX_COUNT = 2**31 - 1

# A model name, node ID or label: printable, bounded (LocalAI keeps them in SQL text columns).
Name = Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=r"^[^\x00-\x1f\x7f]+$")]
Text = Annotated[str, StringConstraints(max_length=1024, pattern=r"^[^\x00-\x1f\x7f]*$")]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Fraction = Annotated[float, Field(ge=0, allow_inf_nan=False)]

ROUTING_FIELDS = ("route_policy", "balance_abs_threshold", "balance_rel_threshold", "min_prefix_match")


class RowSpec(StrictModel):
    """The columns of a scheduling row that modelsched writes (LocalAI's SetSchedulingRequest)."""

    model_name: Name
    node_selector: dict[Name, Text] = Field(default_factory=dict)
    min_replicas: Count = 0
    max_replicas: Count = 0
    spread_all: bool = False
    route_policy: Text = ""
    balance_abs_threshold: Count = 0
    balance_rel_threshold: Fraction = 0.0
    min_prefix_match: Fraction = 0.0

    def body(self) -> dict[str, Any]:
        """The POST body: spread as `spread_all` (LocalAI ignores a `replicas` key), every
        routing field sent so the stored row equals the config (omitted ones would be kept)."""
        data = self.model_dump()
        data["node_selector"] = dict(sorted(self.node_selector.items()))
        return data

    def digest(self) -> str:
        blob = json.dumps(self.body(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class LiveRow(StrictModel):
    """A stored scheduling row plus LocalAI's capacity cooldown (`unsatisfiable_until`)."""

    spec: RowSpec
    unsatisfiable_until: str | None = None
    unsatisfiable_ticks: int = 0


class LiveNode(StrictModel):
    id: Name
    name: Text
    status: Text  # LocalAI's word: pending, healthy, unhealthy, offline, draining
    labels: dict[Text, Text] = Field(default_factory=dict)
    slots: int = 1  # max_replicas_per_model
    node_type: Text = ""
    # Loaded replicas on the node as the node list counts them (any node status).
    model_count: int = 0

    @property
    def schedulable(self) -> bool:
        """LocalAI places replicas only on healthy backend nodes (agents excluded)."""
        return self.status == "healthy" and self.node_type in ("", "backend")


class LiveReplica(StrictModel):
    model: Name
    node_id: Name
    replica_index: int = 0


class Snapshot(StrictModel):
    """What one observation saw: observe -> prepare (`Observed.private`) and apply's re-check."""

    address: str
    nodes: tuple[LiveNode, ...]
    replicas: tuple[LiveReplica, ...]
    rows: tuple[LiveRow, ...]
    fingerprint: str

    def row_map(self) -> dict[str, LiveRow]:
        return {r.spec.model_name: r for r in self.rows}

    def row_digests(self) -> dict[str, str]:
        return {r.spec.model_name: r.spec.digest() for r in self.rows}


# -- plan -> apply -------------------------------------------------------------------------------


class RowWrite(StrictModel):
    action: Literal["create", "update"]
    spec: RowSpec


class Unload(StrictModel):
    """Unload `model` on one node: every replica of it there goes (LocalAI unloads per node)."""

    model: Name
    node_id: Name
    node_name: Text


class Expect(StrictModel):
    """What apply waits for, per model: `target` loaded replicas on matching nodes (None:
    no count, e.g. a pruned model) and none left on the nodes in `gone_from`, nor (for a
    listed model) on any node that does not match `selector`."""

    model: Name
    listed: bool
    selector: dict[Name, Text] = Field(default_factory=dict)
    target: Count | None = None
    gone_from: tuple[Name, ...] = ()


class PlanData(StrictModel):
    version: Literal[1] = 1
    address: Text
    listed: tuple[Name, ...] = ()  # the config's models (observe's scope at apply time)
    writes: tuple[RowWrite, ...] = ()
    deletes: tuple[Name, ...] = ()
    unloads: tuple[Unload, ...] = ()
    expect: tuple[Expect, ...] = ()
    rows: dict[Name, Text] = Field(default_factory=dict)  # model -> row digest when planned

    def to_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def decode_plan_data(raw: object) -> PlanData:
    """The plan file's `driver_data`, checked: PlanFileError naming the first bad fields."""
    if not isinstance(raw, dict) or raw.get("version") != DATA_VERSION:
        raise PlanFileError(
            "the plan has no LocalAI driver data of version 1 (made by another driver or version); plan again"
        )
    try:
        data = PlanData.model_validate_json(json.dumps(raw))
    except (ValidationError, TypeError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()[:5]
            )
        else:
            problems = "not JSON data"
        raise PlanFileError(f"corrupt plan file: LocalAI driver data: {problems}") from None
    _check_consistent(data)
    return data


def _check_consistent(data: PlanData) -> None:
    written = [w.spec.model_name for w in data.writes]
    problems: list[str] = []
    if len(set(written)) != len(written):
        problems.append("a scheduling row is written twice")
    if len(set(data.deletes)) != len(data.deletes):
        problems.append("a scheduling row is deleted twice")
    if set(written) & set(data.deletes):
        problems.append("a scheduling row is both written and deleted")
    pairs = [(u.model, u.node_id) for u in data.unloads]
    if len(set(pairs)) != len(pairs):
        problems.append("a model is unloaded twice on one node")
    models = [e.model for e in data.expect]
    if len(set(models)) != len(models):
        problems.append("a model is awaited twice")
    if problems:
        raise PlanFileError("corrupt plan file: LocalAI driver data: " + "; ".join(problems))
