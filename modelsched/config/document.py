"""One parsed config document -> entries and tool settings, with located problems.

Owns the document shapes of the input contract: a bare list of entries (LocalAI's
format) or a mapping with `models:` and tool settings (`nomad:` -> NomadSettings).
Entries are checked by `config.normalize`; sources, env vars and cross-source
duplicates are `config.load`'s job. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from modelsched.config.normalize import ENTRY_KEYS, Checked, check_entry
from modelsched.config.suggest import unknown_key
from modelsched.config.tree import Budget, Located, Map, NotPlain, Scalar, Seq, describe, key_text, plain
from modelsched.model.base import quote
from modelsched.model.entry import Entry, Settings
from modelsched.model.jobname import prefix_problem

SETTINGS_GROUPS: dict[str, type[BaseModel]] = {
    name: info.annotation  # type: ignore[misc]
    for name, info in Settings.model_fields.items()
}
TOP_LEVEL_KEYS = ("models", *SETTINGS_GROUPS)


def _at(source: str, line: int | None) -> str:
    return source if line is None else f"{source}:{line}"


@dataclass
class Document:
    """What one source declared. `checked` has every entry, valid or not, in order."""

    checked: list[Checked] = field(default_factory=list)
    settings: Settings | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def entries(self) -> list[Entry]:
        return [c.entry for c in self.checked if c.entry is not None]

    def all_problems(self) -> list[str]:
        return self.problems + [p for c in self.checked for p in c.problems]


def _entries(node: Seq, source: str, budget: Budget) -> list[Checked]:
    return [check_entry(item, index, source, budget) for index, item in enumerate(node.items)]


def _settings_group(
    name: str, node: Located, source: str, line: int | None, budget: Budget
) -> tuple[Any, list[str]]:
    model = SETTINGS_GROUPS[name]
    if not isinstance(node, Map):
        return None, [f"{_at(source, line)}: {name} must be a mapping (got {describe(node)})"]
    problems: list[str] = []
    data: dict[str, Any] = {}
    lines: dict[str, int | None] = {}
    for key, value in node.pairs:
        attr = key.value if isinstance(key.value, str) else None
        if attr not in model.model_fields:
            message = unknown_key(key_text(key), attr, model.model_fields)
            problems.append(f"{_at(source, key.line)}: {name}: {message}")
            continue
        assert attr is not None
        if isinstance(value, Scalar) and value.value is None:
            continue  # null = not given, as for entries
        try:
            data[attr] = plain(value, f"{name}.{attr}", budget)
        except NotPlain as exc:
            problems.append(f"{_at(source, exc.line)}: {exc.message}")
            continue
        lines[attr] = key.line
    try:
        settings = model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            attr = str(error["loc"][0])
            path = name + "." + attr + "".join(f"[{p}]" for p in error["loc"][1:])
            msg = error["msg"][:1].lower() + error["msg"][1:]
            got = quote(error["input"])
            problems.append(f"{_at(source, lines.get(attr, line))}: {path}: {msg} (got {got})")
        return None, problems
    prefix = getattr(settings, "job_name_prefix", None)
    if isinstance(prefix, str) and (problem := prefix_problem(prefix)) is not None:
        where = _at(source, lines.get("job_name_prefix", line))
        problems.append(f"{where}: {name}.job_name_prefix {quote(prefix)}: {problem}")
        return None, problems
    return settings, problems


def _mapping(node: Map, source: str, budget: Budget) -> Document:
    problems: list[str] = []
    checked: list[Checked] = []
    groups: dict[str, Any] = {}
    if node.get("models") is None:
        problems.append(f'{_at(source, node.line)}: "models" is required (the list of entries; use [] for none)')
        if node.get("model_name") is not None:
            problems.append(
                f"{_at(source, node.line)}: this looks like a single entry; write entries as a list (- model_name: ...)"
            )
    for key, value in node.pairs:
        name = key.value if isinstance(key.value, str) else None
        if name == "models":
            if isinstance(value, Seq):
                checked = _entries(value, source, budget)
            elif not (isinstance(value, Scalar) and value.value is None):
                problems.append(f"{_at(source, key.line)}: models must be a list of entries (got {describe(value)})")
        elif name in SETTINGS_GROUPS:
            if isinstance(value, Scalar) and value.value is None:
                continue
            group, more = _settings_group(name, value, source, key.line, budget)
            problems += more
            if group is not None:
                groups[name] = group
        elif name not in ENTRY_KEYS or node.get("models") is not None:
            problems.append(f"{_at(source, key.line)}: {unknown_key(key_text(key), name, TOP_LEVEL_KEYS)}")
    return Document(checked, Settings(**groups), problems)


def read_document(root: Located | None, source: str, allow_settings: bool = True) -> Document:
    """Entries, settings (None unless the document is a mapping) and located problems.

    `allow_settings=False` is for inline JSON in environment variables: a list only.
    """
    if root is None:
        return Document()
    budget = Budget()  # alias expansion is bounded per document, over all its fields
    if isinstance(root, Seq):
        return Document(_entries(root, source, budget))
    if isinstance(root, Map) and allow_settings:
        return _mapping(root, source, budget)
    if isinstance(root, Map):
        return Document(problems=[f"{_at(source, root.line)}: expected a JSON list of entries (got a mapping)"])
    expected = "a list of entries or a mapping with models:"
    return Document(problems=[f"{_at(source, root.line)}: expected {expected} (got {describe(root)})"])
