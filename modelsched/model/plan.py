"""The plan: per-node replica changes, per-model summaries, diagnostics.

This is both the planner's output and the saved plan file (`--out`), so the JSON
shape is a contract (DESIGN.md "Plan"). `format_version` guards against plan files
written by another version. A saved plan is untrusted input (a CI artifact):
`load_plan` parses it within bounds and validates all of it (`model.plancheck`)
before anything uses it. No I/O here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import orjson
from pydantic import ConfigDict, Field, ValidationError

from modelsched.errors import PlanFileError
from modelsched.model.base import StrictModel, quote

FORMAT_VERSION = 1

# Counts in a plan: what Nomad's and LocalAI's int fields hold.
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]
# The drivers a plan file may name (checked on load; the planner takes any name).
DRIVERS = ("local", "nomad", "localai")

Action = Literal["add", "remove"]
Level = Literal["warning", "error"]

# Why a change is planned. For display only: nothing decides on a reason (apply decides
# from node state and typed driver operations).
AddReason = Literal["spread", "min_replicas"]
RemoveReason = Literal[
    "node_unknown", "node_unhealthy", "node_not_matching", "duplicate_on_node", "max_replicas", "pruned"
]
Reason = Literal[AddReason, RemoveReason]
ADD_REASONS: tuple[AddReason, ...] = ("spread", "min_replicas")
REMOVE_REASONS: tuple[RemoveReason, ...] = (
    "node_unknown",
    "node_unhealthy",
    "node_not_matching",
    "duplicate_on_node",
    "max_replicas",
    "pruned",
)

# Driver operations shown in a plan (Nomad: job register/update/replace/evaluate/purge and
# allocation stop; LocalAI: scheduling row create/update/delete and replica unload).
OperationAction = Literal[
    "register", "update", "replace", "evaluate", "purge", "stop", "create", "delete", "unload"
]


@dataclass(slots=True)
class Change:
    """One replica added to or removed from one node.

    A stdlib dataclass (pydantic still validates it, strictly and without extra keys,
    when a plan file is read): a plan after a large cluster event holds ~10^4..10^5
    changes and building that many pydantic models dominated planning time. Not
    frozen for the same reason (frozen init is ~2.5x slower), but treat it as
    immutable: use `dataclasses.replace` to derive a changed copy.
    """

    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)

    model: str
    node: str
    action: Action
    reason: Reason
    labels: dict[str, str]
    # The node's identity for the driver (Nomad node ID); equals `node` for the local driver.
    node_id: str
    # Extra display text from the driver (e.g. "Nomad may place it on another matching node").
    note: str | None = None

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.model, 0 if self.action == "remove" else 1, self.node, self.node_id)


class ModelPlan(StrictModel):
    model: str
    mode: Literal["spread", "bounded"]
    selector: dict[str, str]
    matching_nodes: Count
    current: Count
    target: Count


class Diagnostic(StrictModel):
    level: Level
    model: str | None
    message: str


class Operation(StrictModel):
    """A backend operation apply will perform beyond replica counts (e.g. a Nomad job
    register, replace or purge). Shown in the plan; empty for the local driver.

    `restarts`: replicas the operation restarts (Nomad: destructive update of running
    allocations); `diff`: field-level changes, one display line each
    (`~ Task "localai" Config.image: "a" => "b"`)."""

    model: str | None
    target: str
    action: OperationAction
    detail: str = ""
    restarts: Count = 0
    diff: list[str] = Field(default_factory=list)


class UnlistedModel(StrictModel):
    """A model with replicas in the cluster that the config does not list: left alone
    unless `--prune` (then `pruned` says its replicas are removed)."""

    model: str
    replicas: Count
    nodes: Count
    pruned: bool = False


class NodeDigest(StrictModel):
    """What a saved plan remembers of one observed node, to say what moved when it is stale."""

    name: str
    state: str  # short hash of status, eligibility, drain, slots and labels
    replicas: str  # short hash of the replicas on the node


@dataclass(slots=True)
class PlanNode:
    """One observed node as the plan leaves it: `kept` maps a model to the replicas of it
    that were on the node before and stay after the plan (models not listed: none).
    Recorded only for the HTML grid and saved plans, so every node has a row.

    A stdlib dataclass like `Change` (pydantic validates it strictly, without extra
    keys, when a plan file is read): a plan lists every node of a 5,000-node cluster."""

    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)

    id: str
    name: str
    labels: dict[str, str]
    kept: dict[str, Count] = field(default_factory=dict)


class Summary(StrictModel):
    add: Count = 0
    remove: Count = 0
    restart: Count = 0


class Plan(StrictModel):
    format_version: int = FORMAT_VERSION
    generator: str
    driver: str
    cluster: dict[str, str]
    prune: bool = False
    desired_digest: str
    observed_fingerprint: str
    changes: list[Change] = Field(default_factory=list)
    models: list[ModelPlan] = Field(default_factory=list)
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    summary: Summary = Field(default_factory=Summary)
    operations: list[Operation] = Field(default_factory=list)
    # `--target MODEL`: the plan covers only these models (empty: every listed model).
    targets: list[str] = Field(default_factory=list)
    # Models with replicas in the cluster that the config does not list.
    unlisted: list[UnlistedModel] = Field(default_factory=list)
    # Saved plans only (`plan --out`): node ID -> digest, to say what moved when stale.
    observed_nodes: dict[str, NodeDigest] | None = None
    # HTML and saved plans only: every observed node with the replicas the plan keeps on it.
    nodes: list[PlanNode] | None = None
    # Driver-specific data needed to apply the plan later without the config
    # (e.g. the Nomad driver's rendered jobs and their JobModifyIndex). Absent for local.
    driver_data: dict[str, Any] | None = None

    @property
    def has_changes(self) -> bool:
        return bool(self.changes) or bool(self.operations)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def dump_plan(plan: Plan) -> str:
    """The plan as JSON text: contract field order, optional fields only when set, trailing newline.

    Written by orjson (byte-identical to `json.dumps(indent=2, ensure_ascii=False)` for
    the values a plan holds, and several times faster). Text orjson refuses (a lone
    surrogate from the cluster, an integer beyond 64 bits) goes through the standard
    library instead, with lone surrogates written as `\\udhhh` (hex) escapes, so the output
    is always valid JSON in valid UTF-8 (a plan file holding one is refused on load)."""
    data = plan.model_dump(mode="json")
    for change in data["changes"]:
        if change.get("note") is None:
            change.pop("note", None)
    for key in ("operations", "targets", "unlisted"):
        if not data[key]:
            del data[key]
    for op in data.get("operations", ()):
        for key in ("restarts", "diff"):
            if not op[key]:
                del op[key]
    if not data["summary"]["restart"]:
        del data["summary"]["restart"]
    if data["observed_nodes"] is None:
        del data["observed_nodes"]
    if data["nodes"] is None:
        del data["nodes"]
    if data["driver_data"] is None:
        del data["driver_data"]
    try:
        return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def load_plan(text: str, source: str) -> Plan:
    """Parse and validate a saved plan file (untrusted input): bounded JSON, the strict
    schema, then every name, ID and cross-field rule (`model.plancheck`). Raises
    PlanFileError with a located message (`plan.json: corrupt plan file: changes[3].node: ...`)."""
    from modelsched.model.plancheck import check_plan, parse_bounded, schema_problems

    raw = parse_bounded(text, source)
    if not isinstance(raw, dict) or "format_version" not in raw:
        raise PlanFileError(f"{source}: not a modelsched plan file (no format_version)")
    version = raw.get("format_version")
    if version != FORMAT_VERSION or type(version) is not int:
        by = raw.get("generator")
        by_text = quote(by)[1:-1][:100] if isinstance(by, str) else "an unknown version"
        raise PlanFileError(
            f"{source}: plan file has format_version {quote(version)[:40]} (written by {by_text}); "
            f"this modelsched reads format_version {FORMAT_VERSION}: re-run `modelsched plan`"
        )
    try:
        plan = Plan.model_validate_json(text)
    except ValidationError as exc:
        raise schema_problems(exc, source) from None
    check_plan(plan, source)
    return plan
