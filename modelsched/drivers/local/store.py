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


def _replicas_yaml(replicas: list[dict[str, str]]) -> str:
    if not replicas:
        return "replicas: []\n"
    lines = ["replicas:"]
    for r in replicas:
        flow = yaml.safe_dump({"model": r["model"], "node": r["node"]}, default_flow_style=True, width=10**6)
        lines.append("  - " + flow.strip())
    return "\n".join(lines) + "\n"


def render_yaml(original: str, replicas: list[dict[str, str]]) -> str:
    """Replace the top-level `replicas:` block of `original` (or append one).

    The block runs from the `replicas:` line to the next top-level key (or the end),
    less the blank and column-0 comment lines just before that key, which stay.
    """
    root = yaml.compose(original, Loader=yaml.SafeLoader)
    block = _replicas_yaml(replicas)
    if isinstance(root, yaml.MappingNode):
        keys = [k for k, _ in root.value]
        for i, key in enumerate(keys):
            if not (isinstance(key, yaml.ScalarNode) and key.value == "replicas"):
                continue
            start = original.rfind("\n", 0, key.start_mark.index) + 1
            if i + 1 < len(keys):
                stop = original.rfind("\n", 0, keys[i + 1].start_mark.index) + 1
            else:
                stop = len(original)
            lines = original[start:stop].splitlines(keepends=True)
            while len(lines) > 1 and (not lines[-1].strip() or lines[-1].startswith("#")):
                stop -= len(lines.pop())
            return original[:start] + block + original[stop:]
    sep = "" if not original or original.endswith("\n") else "\n"
    return original + sep + block


def render_json(doc: dict[str, Any], replicas: list[dict[str, str]]) -> str:
    out = dict(doc)
    out["replicas"] = replicas
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def write_atomic(path: Path, text: str) -> None:
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
