"""Normalised scheduling entries and the desired state (what the user declared).

`Entry` is the checked, normalised form of one LocalAI-style scheduling entry: the
loader (`config.load`) turns raw YAML/JSON into entries and reports located errors;
this module only defines the shape and the digest. No I/O here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field

from modelsched.model.base import StrictModel

Mode = Literal["spread", "bounded"]
Placement = Literal["scheduler", "pinned"]


class Location(StrictModel):
    """Where an entry came from, for error messages: source name, 1-based line, 0-based index.

    Messages number entries from 1 (`entry 1` is the first), as people count."""

    source: str
    index: int
    line: int | None = None

    def describe(self, model: str | None = None) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
        where += f": entry {self.index + 1}"
        if model:
            where += f" ({model})"
        return where


class Entry(StrictModel):
    """One model's scheduling declaration, normalised.

    `spread` is true for `replicas: all` / `replicas: true` / `spread_all: true`.
    `max_replicas == 0` means unbounded (cluster capacity).
    """

    model_name: str
    node_selector: dict[str, str] = Field(default_factory=dict)
    spread: bool = False
    min_replicas: int = 0
    max_replicas: int = 0
    route_policy: str = ""
    balance_abs_threshold: int = 0
    balance_rel_threshold: float = 0.0
    min_prefix_match: float = 0.0
    scorer_weights: dict[str, Any] | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    # modelsched extension (Nomad driver): where replicas run. None = config-wide default.
    placement: Placement | None = None
    where: Location | None = None

    @property
    def mode(self) -> Mode:
        return "spread" if self.spread else "bounded"

    def contract(self) -> dict[str, Any]:
        """The entry as data, without its location: what the digest and templates see."""
        data = self.model_dump(exclude={"where"})
        data["node_selector"] = dict(sorted(self.node_selector.items()))
        return data


class NomadSettings(StrictModel):
    """Config-document defaults for the Nomad driver (`nomad:` key). CLI options override."""

    job_template: str | None = None
    datacenters: list[str] = Field(default_factory=lambda: ["*"])
    namespace: str | None = None
    region: str | None = None
    node_pool: str | None = None
    job_name_prefix: str = "modelsched-"
    placement: Placement = "scheduler"


class Settings(StrictModel):
    """Tool settings from the mapping-shaped config document (everything but `models:`)."""

    nomad: NomadSettings = Field(default_factory=NomadSettings)


class Desired(StrictModel):
    """Everything the user declared: entries (unique model names) plus tool settings."""

    entries: tuple[Entry, ...] = ()
    settings: Settings = Field(default_factory=Settings)
    sources: tuple[str, ...] = ()

    def by_name(self) -> dict[str, Entry]:
        return {e.model_name: e for e in self.entries}

    def digest(self) -> str:
        """sha256 over the entries (in name order) and settings; locations do not count."""
        doc = {
            "entries": [e.contract() for e in sorted(self.entries, key=lambda e: e.model_name)],
            "settings": self.settings.model_dump(),
        }
        blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()
