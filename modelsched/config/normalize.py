"""One raw scheduling entry (a located tree) -> a normalised `Entry`, or located problems.

Owns the entry rules of the input contract (DESIGN.md "Scheduling config"): LocalAI's
keys and wording, strict types (no `"2"` for 2, no `true` for 1, no 2.0 for 2), the
`replicas` aliases, selectors read as strings, unknown keys with a suggestion. Every
problem is prefixed `source:line: entry N (model): `. Cross-entry rules (duplicate
model names) and document shape live in `config.load`/`config.document`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, get_args

from modelsched.config.suggest import unknown_key
from modelsched.config.tree import Budget, Located, Map, NotPlain, Scalar, describe, key_text, plain
from modelsched.model.base import name_problem, quote, text_problem
from modelsched.model.entry import Entry, Location, Placement

MAX_INT = 2**31 - 1

ENTRY_KEYS = (
    "model_name",
    "node_selector",
    "replicas",
    "spread_all",
    "min_replicas",
    "max_replicas",
    "route_policy",
    "balance_abs_threshold",
    "balance_rel_threshold",
    "min_prefix_match",
    "scorer_weights",
    "vars",
    "placement",
)
ROUTE_POLICIES = ("", "round_robin", "prefix_cache")
PLACEMENTS: tuple[str, ...] = get_args(Placement)

_INVALID = object()  # a field whose problem was already reported


def _choices(values: tuple[str, ...]) -> str:
    quoted = [json.dumps(v) for v in values]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


class _EntryChecker:
    def __init__(self, node: Map, index: int, source: str, budget: Budget) -> None:
        self.node = node
        self.index = index
        self.source = source
        self.budget = budget
        self.model: str | None = None
        self.problems: list[str] = []
        self.fields: dict[str, tuple[Scalar, Located]] = {}
        self.unknown: list[Scalar] = []
        for key, value in node.pairs:
            if isinstance(key.value, str) and key.value in ENTRY_KEYS:
                self.fields[key.value] = (key, value)
            else:
                self.unknown.append(key)

    def problem(self, line: int | None, message: str) -> None:
        where = Location(source=self.source, index=self.index, line=line).describe(self.model)
        self.problems.append(f"{where}: {message}")

    def given(self, name: str) -> tuple[Scalar, Located] | None:
        """The key and value of a field, or None when absent or null (null = not given)."""
        got = self.fields.get(name)
        if got is None or (isinstance(got[1], Scalar) and got[1].value is None):
            return None
        return got

    def model_name(self) -> str | None:
        got = self.given("model_name")
        if got is None:
            self.problem(self.node.line, "model_name is required")
            return None
        key, value = got
        if not isinstance(value, Scalar) or not isinstance(value.value, str):
            self.problem(key.line, f"model_name must be a string (got {describe(value)})")
            return None
        if not value.value.strip():
            self.problem(key.line, "model_name is required")
            return None
        problem = name_problem(value.value)
        if problem is not None:
            self.problem(key.line, f"model_name {quote(value.value)} {problem}")
            return None
        return value.value

    def selector(self) -> Any:
        got = self.given("node_selector")
        if got is None:
            return {}
        key, value = got
        if not isinstance(value, Map):
            self.problem(key.line, f"node_selector must be a mapping of label to value (got {describe(value)})")
            return _INVALID
        result: dict[str, str] = {}
        ok = True
        for label_node, label_value in value.pairs:
            label = label_node.text if label_node.text is not None else label_node.value
            if label_node.value is None or not isinstance(label, str) or not label:
                bad = describe(label_node)
                self.problem(label_node.line, f"node_selector label keys must be non-empty strings (got {bad})")
                ok = False
                continue
            shown = quote(label)
            problem = text_problem(label)
            if problem is not None:
                self.problem(label_node.line, f"node_selector label {quote(label)} {problem}")
                ok = False
                continue
            text = self.label_value(label_node, shown, label_value)
            if text is not None and (problem := text_problem(text)) is not None:
                self.problem(label_node.line, f"node_selector {shown}: the value {quote(text)} {problem}")
                text = None
            if text is None:
                ok = False
            elif label in result:
                self.problem(label_node.line, f"node_selector: duplicate label {shown}")
                ok = False
            else:
                result[label] = text
        return result if ok else _INVALID

    def label_value(self, label_node: Scalar, shown: str, value: Located) -> str | None:
        # YAML scalars count by their text (`tier: 1` is "1"); JSON values must be strings.
        if isinstance(value, Scalar) and value.text is not None and value.value is not None:
            return value.text
        if isinstance(value, Scalar) and isinstance(value.value, str):
            return value.value
        if isinstance(value, Scalar) and value.value is None:
            # LocalAI decodes a null label value into its map[string]string as "": so do we.
            return ""
        self.problem(label_node.line, f"node_selector {shown} must be a string (got {describe(value)})")
        return None

    def replicas(self) -> Any:
        got = self.given("replicas")
        if got is None:
            return False
        key, value = got
        v = value.value if isinstance(value, Scalar) else None
        if isinstance(value, Scalar) and isinstance(v, bool):
            return v
        if isinstance(v, str):
            word = v.strip().lower()
            if word in ("all", "auto", ""):
                return word == "all"
            shown = quote(v)
            self.problem(key.line, f'invalid replicas value {shown} (expected "all" or "auto")')
        elif isinstance(value, Scalar) and isinstance(v, (int, float)):
            shown = value.text if value.text is not None else json.dumps(v)
            self.problem(
                key.line,
                f'invalid replicas value {shown} (use min_replicas/max_replicas for a fixed count, or "all" to spread)',
            )
        else:
            self.problem(key.line, f'replicas must be "all", "auto", true or false (got {describe(value)})')
        return _INVALID

    def boolean(self, name: str) -> Any:
        got = self.given(name)
        if got is None:
            return False
        key, value = got
        if isinstance(value, Scalar) and isinstance(value.value, bool):
            return value.value
        self.problem(key.line, f"{name} must be true or false (got {describe(value)})")
        return _INVALID

    def integer(self, name: str) -> Any:
        got = self.given(name)
        if got is None:
            return 0
        key, value = got
        if not isinstance(value, Scalar) or type(value.value) is not int:
            self.problem(key.line, f"{name} must be an integer (got {describe(value)})")
            return _INVALID
        if value.value < 0:
            self.problem(key.line, f"{name} must be >= 0")
            return _INVALID
        if value.value > MAX_INT:
            # Counts end up in Nomad's int fields and LocalAI's ints: refuse what they cannot hold.
            self.problem(key.line, f"{name} must be <= {MAX_INT}")
            return _INVALID
        return value.value

    def number(self, name: str, ok: Any, rule: str) -> Any:
        got = self.given(name)
        if got is None:
            return 0.0
        key, value = got
        v = value.value if isinstance(value, Scalar) else None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.problem(key.line, f"{name} must be a number (got {describe(value)})")
            return _INVALID
        if not ok(v):
            self.problem(key.line, f"{name} must be {rule}")
            return _INVALID
        return float(v)

    def choice(self, name: str, allowed: tuple[str, ...], default: Any) -> Any:
        got = self.given(name)
        if got is None:
            return default
        key, value = got
        if isinstance(value, Scalar) and isinstance(value.value, str) and value.value in allowed:
            return value.value
        self.problem(key.line, f"{name} must be {_choices(allowed)} (got {describe(value)})")
        return _INVALID

    def mapping(self, name: str, default: Any) -> Any:
        got = self.given(name)
        if got is None:
            return default
        key, value = got
        if not isinstance(value, Map):
            self.problem(key.line, f"{name} must be a mapping (got {describe(value)})")
            return _INVALID
        try:
            return plain(value, name, self.budget)
        except NotPlain as exc:
            self.problem(exc.line, exc.message)
            return _INVALID

    def entry(self) -> Entry | None:
        self.model = self.model_name()
        for key in self.unknown:
            word = key.value if isinstance(key.value, str) else None
            self.problem(key.line, unknown_key(key_text(key), word, ENTRY_KEYS))
        data: dict[str, Any] = {
            "node_selector": self.selector(),
            "spread": self.replicas(),
            "spread_all": self.boolean("spread_all"),
            "min_replicas": self.integer("min_replicas"),
            "max_replicas": self.integer("max_replicas"),
            "route_policy": self.choice("route_policy", ROUTE_POLICIES, ""),
            "balance_abs_threshold": self.integer("balance_abs_threshold"),
            "balance_rel_threshold": self.number("balance_rel_threshold", lambda v: v == 0 or v >= 1, "0 or >= 1"),
            "min_prefix_match": self.number("min_prefix_match", lambda v: 0 <= v <= 1, "between 0 and 1"),
            "scorer_weights": self.mapping("scorer_weights", None),
            "vars": self.mapping("vars", {}),
            "placement": self.choice("placement", PLACEMENTS, None),
        }
        spread_all = data.pop("spread_all")
        if data["spread"] is not _INVALID and spread_all is not _INVALID:
            data["spread"] = data["spread"] or spread_all
        else:
            data["spread"] = _INVALID
        self.bounds(data["spread"], data["min_replicas"], data["max_replicas"])
        if self.problems or self.model is None:
            return None
        where = Location(source=self.source, index=self.index, line=self.node.line)
        return Entry(model_name=self.model, where=where, **data)

    def bounds(self, spread: Any, low: Any, high: Any) -> None:
        if _INVALID in (spread, low, high):
            return
        if spread and (low or high):
            self.problem(self.node.line, "spread (replicas: all) and min_replicas/max_replicas are mutually exclusive")
        elif high > 0 and low > high:
            self.problem(self.node.line, "min_replicas must be <= max_replicas")


@dataclass(frozen=True, slots=True)
class Checked:
    """The outcome for one entry. `name` is set whenever model_name is valid, even if
    other fields are not, so duplicate names are reported alongside other problems."""

    entry: Entry | None
    problems: list[str]
    name: str | None
    where: Location


def check_entry(node: Located, index: int, source: str, budget: Budget) -> Checked:
    """Validate one entry (`index` 0-based): the entry (None when invalid) and its located
    problems. `budget` is the document's, shared by all its entries."""
    where = Location(source=source, index=index, line=node.line)
    if not isinstance(node, Map):
        problem = f"{where.describe()}: expected a mapping with model_name (got {describe(node)})"
        return Checked(None, [problem], None, where)
    checker = _EntryChecker(node, index, source, budget)
    entry = checker.entry()
    return Checked(entry, checker.problems, checker.model, where)
