"""Bounds on everything read from outside: file size, nesting depth, number length, alias expansion.

`read_limited` reads a regular file (or stdin) with a size limit, refusing at once
what could block or never end (a FIFO with no writer, `/dev/zero`, a directory). The
constants are the single place where the limits live; the config readers (YAML, JSON,
env JSON) and the plan-file reader apply them. Raises `InputRefused` with a phrase
the caller puts after the file's name. Never prints.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from modelsched.model.base import MAX_DEPTH, MAX_INT_DIGITS

__all__ = ["MAX_CONFIG_BYTES", "MAX_DEPTH", "MAX_INT_DIGITS", "MAX_PLAN_BYTES", "MAX_VALUES", "InputRefused"]

MIB = 1024 * 1024
# A scheduling config: a LocalAI file lists tens of models; 1,000 entries take ~100 KB.
MAX_CONFIG_BYTES = 8 * MIB
# A saved plan: 10^5 changes (a large cluster event) take ~30 MB of indented JSON.
MAX_PLAN_BYTES = 128 * MIB
# Values one document may expand to through YAML aliases ("billion laughs"), all fields together.
MAX_VALUES = 100_000

_CHUNK = MIB
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class InputRefused(Exception):
    """Input that is not read: `reason` completes "<file>: cannot read <what>: ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def size_text(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit} bytes"


def _too_large(limit: int) -> InputRefused:
    return InputRefused(f"larger than the {size_text(limit)} limit")


def _kind(mode: int) -> str | None:
    for test, name in _KINDS:
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def read_stream(stream: BinaryIO, limit: int) -> bytes:
    """At most `limit` bytes from an open stream; refuses (without reading on) beyond that."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)


def read_limited(path: str, limit: int) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them.

    Opened non-blocking so that a FIFO without a writer cannot hang the run; anything
    but a regular file is refused before reading (a pipe on stdin is read with
    `--config -`).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputRefused("no such file") from None
    except IsADirectoryError:
        raise InputRefused("is a directory") from None
    except OSError as exc:
        raise InputRefused(str(exc.strerror or exc).lower()) from None
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind is not None:
            raise InputRefused("is a directory" if stat.S_ISDIR(info.st_mode) else f"is {kind}, not a regular file")
        if info.st_size > limit:
            raise _too_large(limit)
        with os.fdopen(os.dup(fd), "rb", buffering=0) as stream:
            return read_stream(stream, limit)
    except OSError as exc:
        raise InputRefused(str(exc.strerror or exc).lower()) from None
    finally:
        os.close(fd)


def decode_text(data: bytes, encoding: str = "utf-8") -> str:
    """UTF-8 text (`utf-8-sig` drops a byte order mark); refuses other bytes."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputRefused(f"not UTF-8 text (byte {exc.start})") from None
