"""Loading the scheduling config: sources, precedence, and the one ConfigError.

Public entry points: `load_desired` (what the CLI calls) and `load_text`. Owns where
the config comes from (`--config PATH`, `-` for stdin, or the env var pairs
MODELSCHED_SCHEDULING[_CONFIG], else LOCALAI_MODEL_SCHEDULING[_CONFIG], never mixed),
the format rules (`.json` -> JSON, else YAML; stdin is sniffed), concatenation within
a pair (inline JSON first), and duplicate model names across sources. Every problem
from every source is collected and raised at once. Reads files and the given
environment mapping only; never `os.environ` directly.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TextIO

from modelsched.config.document import Document, read_document
from modelsched.config.jsonsrc import is_json, read_json, read_json_fast
from modelsched.config.limits import (
    MAX_CONFIG_BYTES,
    InputRefused,
    decode_text,
    read_limited,
    read_stream,
    size_text,
)
from modelsched.config.tree import Located
from modelsched.config.yamlsrc import read_yaml
from modelsched.errors import ConfigError, UsageError
from modelsched.model.base import escape, quote
from modelsched.model.entry import Desired, Entry, Location, Settings
from modelsched.model.jobname import job_id, prefix_problem

Format = Literal["yaml", "json"]

# (inline JSON variable, file path variable), in order of precedence.
ENV_PAIRS: tuple[tuple[str, str], ...] = (
    ("MODELSCHED_SCHEDULING", "MODELSCHED_SCHEDULING_CONFIG"),
    ("LOCALAI_MODEL_SCHEDULING", "LOCALAI_MODEL_SCHEDULING_CONFIG"),
)
STDIN = "<stdin>"


@dataclass(frozen=True)
class _Source:
    name: str
    fmt: Format
    text: str | None  # None when it could not be read (the problem is recorded)
    inline: bool = False  # inline JSON from an env var: a list only, no lines


def _format_of(path: str) -> Format:
    return "json" if path.lower().endswith(".json") else "yaml"


def _read_file(path: str, via: str | None, problems: list[str]) -> _Source:
    suffix = f" (path from {via})" if via else ""
    text: str | None = None
    try:
        text = decode_text(read_limited(path, MAX_CONFIG_BYTES), "utf-8-sig")
    except InputRefused as exc:
        hint = "; pipe a config with --config - instead" if "not a regular file" in exc.reason else ""
        problems.append(f"{escape(path)}: cannot read scheduling config: {exc.reason}{hint}{suffix}")
    return _Source(escape(path), _format_of(path), text)  # the name is for messages only


def _read_stdin(stdin: TextIO | None, problems: list[str]) -> _Source:
    stream = stdin if stdin is not None else sys.stdin
    text: str | None = None
    try:
        raw = getattr(stream, "buffer", None)
        if raw is not None:
            text = decode_text(read_stream(raw, MAX_CONFIG_BYTES), "utf-8-sig")
        else:  # a text stream without bytes underneath (tests, embedding)
            text = stream.read(MAX_CONFIG_BYTES + 1)
            if len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES:
                raise InputRefused(f"larger than the {size_text(MAX_CONFIG_BYTES)} limit")
    except InputRefused as exc:
        problems.append(f"{STDIN}: cannot read scheduling config: {exc.reason}")
        text = None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{STDIN}: cannot read scheduling config: {exc}")
        text = None
    fmt: Format = "json" if text is not None and is_json(text) else "yaml"
    return _Source(STDIN, fmt, text)


def _set(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "")
    return value if value.strip() else None  # an empty (or blank) variable counts as unset


def _env_sources(env: Mapping[str, str], problems: list[str]) -> list[_Source]:
    for inline_var, path_var in ENV_PAIRS:
        inline, path = _set(env, inline_var), _set(env, path_var)
        if inline is None and path is None:
            continue
        sources: list[_Source] = []
        if inline is not None:
            sources.append(_Source(f"env {inline_var}", "json", inline, inline=True))
        if path is not None:
            sources.append(_read_file(path, path_var, problems))
        return sources
    tried = " / ".join(var for pair in ENV_PAIRS for var in pair)
    raise UsageError(f"no scheduling config: pass --config PATH (- for stdin) or set one of {tried}")


def _parse(source: _Source, fast: bool = False) -> Document:
    """The source's document. `fast` reads JSON without lines (the C scanner): right for
    a valid document; a document with problems is read again located (see `_desired`)."""
    if source.text is None:
        return Document()
    try:
        root: Located | None
        problems: list[str] = []
        if source.fmt == "json":
            root = read_json_fast(source.text) if fast else None
            if root is None:
                root, problems = read_json(source.text, source.name, with_lines=not source.inline)
        else:
            root, problems = read_yaml(source.text, source.name)
    except ConfigError as exc:
        return Document(problems=exc.problems)
    document = read_document(root, source.name, allow_settings=not source.inline)
    document.problems[:0] = problems
    return document


def _by_line(source: str, problems: list[str]) -> list[str]:
    """Problems of one source in line order (stable; unlocated ones first)."""
    pattern = re.compile(re.escape(source) + r":(\d+)")

    def line(problem: str) -> int:
        match = pattern.match(problem)
        return int(match.group(1)) if match else 0

    return sorted(problems, key=line)


def _duplicates(documents: list[Document]) -> dict[str, list[str]]:
    """Duplicate model names, by the source of the later occurrence."""
    problems: dict[str, list[str]] = {}
    first: dict[str, Location] = {}
    for document in documents:
        for checked in document.checked:
            if checked.name is None:
                continue
            seen = first.setdefault(checked.name, checked.where)
            if seen is not checked.where:
                problems.setdefault(checked.where.source, []).append(
                    f'{checked.where.describe(checked.name)}: duplicate model_name "{checked.name}" '
                    f"(first at {seen.describe()})"
                )
    return problems


def _job_collisions(documents: list[Document], prefix: str) -> dict[str, list[str]]:
    """Models whose Nomad job IDs coincide (e.g. `a/b` and one named like its sanitised
    form), by the source of the later model. Equal names are duplicates, reported apart."""
    if prefix_problem(prefix) is not None:
        return {}  # reported with the settings
    problems: dict[str, list[str]] = {}
    first: dict[str, tuple[str, Location]] = {}
    for document in documents:
        for checked in document.checked:
            if checked.name is None:
                continue
            job = job_id(prefix, checked.name)
            other, where = first.setdefault(job, (checked.name, checked.where))
            if other != checked.name:
                problems.setdefault(checked.where.source, []).append(
                    f"{checked.where.describe(checked.name)}: models {quote(other)} (at {where.describe()}) and "
                    f"{quote(checked.name)} would share the Nomad job ID {quote(job)}; rename one of them"
                )
    return problems


def _problems(sources: list[_Source], documents: list[Document]) -> list[str]:
    settings = next((d.settings for d in documents if d.settings is not None), Settings())
    duplicates = _duplicates(documents)
    collisions = _job_collisions(documents, settings.nomad.job_name_prefix)
    problems: list[str] = []
    for source, document in zip(sources, documents, strict=True):
        found = document.all_problems() + duplicates.pop(source.name, []) + collisions.pop(source.name, [])
        problems += _by_line(source.name, found)
    return problems


def _desired(sources: list[_Source], problems: list[str]) -> Desired:
    documents = [_parse(source, fast=True) for source in sources]
    found = _problems(sources, documents)
    if found and any(s.fmt == "json" and not s.inline for s in sources):
        documents = [_parse(source) for source in sources]  # again, with lines for the messages
        found = _problems(sources, documents)
    problems += found
    if problems:
        raise ConfigError(problems)
    settings = next((d.settings for d in documents if d.settings is not None), Settings())
    entries: list[Entry] = [e for document in documents for e in document.entries]
    return Desired(entries=tuple(entries), settings=settings, sources=tuple(s.name for s in sources))


def load_text(text: str, source: str, fmt: Format) -> Desired:
    """Load one config document given as text; `source` names it in messages."""
    return _desired([_Source(source, fmt, text)], [])


def load_desired(config: str | None, env: Mapping[str, str], stdin: TextIO | None = None) -> Desired:
    """Load the desired state from `--config` (a path, or "-" for stdin) or, when None,
    from the environment pairs. Raises ConfigError with all problems found, or UsageError
    when there is no source at all."""
    problems: list[str] = []
    if config == "-":
        sources = [_read_stdin(stdin, problems)]
    elif config is not None:
        sources = [_read_file(config, None, problems)]
    else:
        sources = _env_sources(env, problems)
    return _desired(sources, problems)
