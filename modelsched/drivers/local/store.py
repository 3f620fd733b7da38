"""The new state text after apply: only the replicas change, the rest of the file is kept.

YAML: only the value of the top-level `replicas` key is rewritten, so comments and
layout elsewhere survive: in a block-style root the `replicas:` entry is replaced in
place (keys may be indented, all by the same amount; blank and comment lines before
the next key stay with it); in a flow-style root (`{nodes: [...], replicas: [...]}`)
the value's text is replaced (or `, replicas: [...]` added before the closing brace).
The result is parsed back and must hold exactly the document with the new replicas;
when splicing cannot guarantee that, the whole document is written instead (correct
data; comments lost). JSON is written whole, indented by 2. A file whose every line
ends in CRLF keeps CRLF. Must not touch the disk.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from modelsched.drivers.local.yamlstate import StrictLoader

_scalars: dict[str, str] = {}


def _flow_scalar(value: str) -> str:
    """`value` as PyYAML's safe_dump writes it as a value inside a flow mapping (cached:
    a state repeats a few hundred model and a few thousand node names)."""
    shown = _scalars.get(value)
    if shown is None:
        dumped = yaml.safe_dump({"v": value}, default_flow_style=True, width=10**6, allow_unicode=False)
        shown = dumped[len("{v: ") : -len("}\n")]
        if len(_scalars) < 100_000:
            _scalars[value] = shown
    return shown


def replica_flow(model: str, node: str) -> str:
    return f"{{model: {_flow_scalar(model)}, node: {_flow_scalar(node)}}}"


def _block(replicas: list[dict[str, str]], indent: str) -> str:
    if not replicas:
        return f"{indent}replicas: []\n"
    lines = [f"{indent}replicas:"]
    lines += [f"{indent}  - {replica_flow(r['model'], r['node'])}" for r in replicas]
    return "\n".join(lines) + "\n"


def _flow(replicas: list[dict[str, str]]) -> str:
    return "[" + ", ".join(replica_flow(r["model"], r["node"]) for r in replicas) + "]"


def _splice_flow(original: str, root: yaml.MappingNode, replicas: list[dict[str, str]]) -> str | None:
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "replicas":
            return original[: value.start_mark.index] + _flow(replicas) + original[value.end_mark.index :]
    close = original.rfind("}", 0, root.end_mark.index)
    if close < 0:
        return None
    sep = ", " if root.value else ""
    return original[:close] + sep + "replicas: " + _flow(replicas) + original[close:]


def _splice_block(original: str, root: yaml.MappingNode, replicas: list[dict[str, str]]) -> str | None:
    keys = [k for k, _ in root.value]
    columns = {k.start_mark.column for k in keys}
    if len(columns) > 1:
        return None
    indent = " " * (columns.pop() if columns else 0)
    block = _block(replicas, indent)
    for i, key in enumerate(keys):
        if not (isinstance(key, yaml.ScalarNode) and key.value == "replicas"):
            continue
        start = key.start_mark.index
        stop = keys[i + 1].start_mark.index if i + 1 < len(keys) else len(original)
        lines = original[start:stop].splitlines(keepends=True)
        # Blank and comment lines just before the next key belong to what follows: keep them.
        while len(lines) > 1 and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
            stop -= len(lines.pop())
        # The key's own indentation is already in front of it.
        return original[:start] + block[len(indent) :] + original[stop:]
    sep = "" if not original or original.endswith("\n") else "\n"
    return original + sep + block


def _splice(original: str, replicas: list[dict[str, str]]) -> str | None:
    """`original` with its replicas replaced, or None when its layout is not one we splice."""
    try:
        root = yaml.compose(original, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    if root.flow_style:
        return _splice_flow(original, root, replicas)
    return _splice_block(original, root, replicas)


def _render_yaml(original: str, doc: dict[str, Any], replicas: list[dict[str, str]]) -> str:
    want = {**doc, "replicas": replicas}
    spliced = _splice(original, replicas) if original.strip() else None
    if spliced is not None:
        try:
            if yaml.load(spliced, Loader=StrictLoader) == want:
                return spliced
        except yaml.YAMLError:
            pass
    ordered = {k: want[k] for k in ("nodes", "replicas") if k in want}
    return yaml.dump(ordered, Dumper=yaml.SafeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def _render_json(doc: dict[str, Any], replicas: list[dict[str, str]]) -> str:
    out = dict(doc)
    out["replicas"] = replicas
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def uses_crlf(text: str) -> bool:
    """Every line break is CRLF (and there is at least one)."""
    return "\r\n" in text and text.count("\n") == text.count("\r\n")


def render(fmt: str, original: str, doc: dict[str, Any], replicas: list[dict[str, str]]) -> str:
    """The new state text for `original` (parsed as `doc`) holding `replicas`."""
    crlf = uses_crlf(original)
    if crlf:
        original = original.replace("\r\n", "\n")
    new = _render_json(doc, replicas) if fmt == "json" else _render_yaml(original, doc, replicas)
    return new.replace("\n", "\r\n") if crlf else new
