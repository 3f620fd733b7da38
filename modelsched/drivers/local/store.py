"""State file I/O: read, exclusive lock, and crash-safe rewrite of the replicas list.

Writes go to a temp file in the same directory, are fsynced, then renamed over the
original (and the directory fsynced), so a crash leaves either the old or the new
file, never half of one. For YAML only the `replicas:` block is rewritten, so the
user's comments and layout of `nodes:` survive an apply.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from modelsched.errors import StateError


def state_format(path: Path) -> str:
    return "json" if path.suffix.lower() == ".json" else "yaml"


def read_state(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise StateError(
            f"cluster state {path}: file not found (give --state PATH or set MODELSCHED_STATE)"
        ) from None
    except OSError as exc:
        raise StateError(f"cluster state {path}: cannot read: {exc.strerror}") from None


def decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateError(f"cluster state {path}: not UTF-8 text (byte {exc.start})") from None


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<state>.lock` (the state file itself is replaced on write,
    so a lock on it would not exclude a writer that opened the new file)."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StateError(f"cluster state {path}: cannot create lock file {lock_path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


_ReadBack: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def _replicas_yaml(replicas: list[dict[str, str]]) -> str:
    if not replicas:
        return "replicas: []\n"
    lines = ["replicas:"]
    for r in replicas:
        flow = yaml.safe_dump({"model": r["model"], "node": r["node"]}, default_flow_style=True, width=10**6)
        lines.append("  - " + flow.strip())
    return "\n".join(lines) + "\n"


def _splice_yaml(original: str, block: str) -> str | None:
    """Replace the top-level block-style `replicas:` entry in place; None when the layout
    is not one we can splice safely (flow-style root, indented keys, no such key)."""
    root = yaml.compose(original, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        return None
    keys = [k for k, _ in root.value]
    if any(k.start_mark.column != 0 for k in keys):
        return None
    for i, key in enumerate(keys):
        if not (isinstance(key, yaml.ScalarNode) and key.value == "replicas"):
            continue
        start = key.start_mark.index
        stop = keys[i + 1].start_mark.index if i + 1 < len(keys) else len(original)
        lines = original[start:stop].splitlines(keepends=True)
        # Blank and comment lines just before the next key belong to what follows: keep them.
        while len(lines) > 1 and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
            stop -= len(lines.pop())
        return original[:start] + block + original[stop:]
    sep = "" if not original or original.endswith("\n") else "\n"
    return original + sep + block


def render_yaml(original: str, doc: dict[str, Any], replicas: list[dict[str, str]]) -> str:
    """The new state text: `original` with only its `replicas:` block replaced, so comments
    and layout elsewhere survive. The result is parsed back and must hold exactly `doc`
    with the new replicas; if splicing cannot guarantee that (an unusual layout), the
    whole document is written out instead (correct data, comments lost)."""
    spliced = _splice_yaml(original, _replicas_yaml(replicas)) if original.strip() else None
    want = {**doc, "replicas": replicas}
    if spliced is not None:
        try:
            if yaml.load(spliced, Loader=_ReadBack) == want:
                return spliced
        except yaml.YAMLError:
            pass
    ordered = {k: want[k] for k in ("nodes", "replicas") if k in want}
    return yaml.dump(ordered, Dumper=yaml.SafeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def render_json(doc: dict[str, Any], replicas: list[dict[str, str]]) -> str:
    out = dict(doc)
    out["replicas"] = replicas
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def write_atomic(path: Path, text: str) -> None:
    try:
        _write_atomic(path, text)
    except OSError as exc:
        raise StateError(
            f"cluster state {path}: cannot write: {exc.strerror or exc}; the file was not changed"
        ) from None


def _write_atomic(path: Path, text: str) -> None:
    directory = path.parent
    mode = 0o644
    with contextlib.suppress(OSError):
        mode = path.stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
