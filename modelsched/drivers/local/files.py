"""State file bytes on disk: a bounded read, and a crash-safe rewrite that keeps the file.

Reads refuse anything but a regular file (a FIFO or `/dev/zero` ends at once) and any
file above MAX_STATE_BYTES. Writes go to a temp file in the directory of the file
actually holding the state (through a symlink, to its target: the link stays a link),
get the old file's owner, group and mode, are fsynced, then renamed over it (and the
directory fsynced): a crash leaves the old or the new file, never half of one. If the
owner or group cannot be kept, nothing is written. Must not parse or render state.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from modelsched.errors import StateError

MAX_STATE_BYTES = 256 * 2**20


def target(path: Path) -> Path:
    """The file holding the state: `path`, or the end of its symlink chain."""
    return Path(os.path.realpath(path))


def _limit_text(limit: int) -> str:
    return f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit} bytes"


def read(path: Path, limit: int | None = None) -> bytes:
    """The file's bytes; a StateError (nothing read beyond the limit) for anything else."""
    limit = MAX_STATE_BYTES if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise StateError(f"cluster state {path}: file not found (give --state PATH or set MODELSCHED_STATE)") from None
    except OSError as exc:
        raise StateError(f"cluster state {path}: cannot read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StateError(f"cluster state {path}: not a regular file")
        if info.st_size > limit:
            raise StateError(f"cluster state {path}: larger than the {_limit_text(limit)} limit for a state file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(limit + 1 - size, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise StateError(f"cluster state {path}: larger than the {_limit_text(limit)} limit for a state file")
        return b"".join(chunks)
    except OSError as exc:
        raise StateError(f"cluster state {path}: cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace the state's bytes; `path` may be a symlink (its final target is rewritten)."""
    real = target(path)
    try:
        _write(real, data)
    except OSError as exc:
        raise StateError(
            f"cluster state {path}: cannot write: {exc.strerror or exc}; the file was not changed"
        ) from None


def _keep_owner(fd: int, old: os.stat_result, real: Path) -> None:
    if (old.st_uid, old.st_gid) == (os.geteuid(), os.getegid()):
        return
    try:
        os.fchown(fd, old.st_uid, old.st_gid)
    except PermissionError:
        raise StateError(
            f"cluster state {real}: cannot keep its owner and group (uid {old.st_uid}, gid {old.st_gid}) "
            f"when rewriting it as uid {os.geteuid()}; the file was not changed"
        ) from None


def _write(real: Path, data: bytes) -> None:
    directory = real.parent
    try:
        old: os.stat_result | None = os.stat(real)
    except FileNotFoundError:
        old = None
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            if old is not None:
                _keep_owner(fh.fileno(), old, real)
                os.fchmod(fh.fileno(), stat.S_IMODE(old.st_mode))
            else:
                os.fchmod(fh.fileno(), 0o644)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
