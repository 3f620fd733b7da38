"""The state lock: an exclusive flock on `<state file>.lock`, next to the file actually
holding the state (a symlinked state is locked at its target, so every path to one
file shares one lock).

The lock file is opened with O_NOFOLLOW and must be a regular file: a symlink planted
at the lock's name is refused, never followed. The holder writes its pid into it, so a
waiter can say who holds it. `timeout` bounds the wait (0: try once, as Terraform's
default -lock-timeout): a held lock is reported through `notify` at once
(`waiting for the state lock (held by pid N)`), then polled until it frees or the
time is up (then a StateError naming the pid; nothing was applied).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from modelsched.errors import StateError

_POLL = (0.01, 0.02, 0.05, 0.1, 0.2)  # seconds between tries, then the last one repeated


def lock_path(real: Path) -> Path:
    return real.with_name(real.name + ".lock")


def _open(path: Path, state: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StateError(
                f"cluster state {state}: the lock file {path} is a symbolic link; refusing to follow it "
                "(remove it if nothing else uses it)"
            ) from None
        raise StateError(f"cluster state {state}: cannot create lock file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StateError(f"cluster state {state}: the lock file {path} is not a regular file; refusing to use it")
    return fd


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode("ascii").strip())
        if pid > 0:
            return f"pid {pid}"
    return "another process"


def _try(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def locked(
    real: Path,
    state: Path,
    *,
    timeout: float,
    notify: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """Hold the lock of the state file `real` (shown to the user as `state`)."""
    path = lock_path(real)
    fd = _open(path, state)
    try:
        if not _try(fd):
            holder = _holder(fd)
            deadline = clock() + timeout
            if timeout > 0:
                notify(f"waiting for the state lock (held by {holder})")
            tries = 0
            while not _try(fd):
                left = deadline - clock()
                if left <= 0:
                    waited = f"still held after {timeout:g}s" if timeout > 0 else "held"
                    raise StateError(
                        f"cluster state {state}: the state lock {path} is {waited} by {_holder(fd)}; "
                        "nothing was applied (wait for it to finish, or give --lock-timeout DURATION to wait)"
                    )
                sleep(min(_POLL[min(tries, len(_POLL) - 1)], left))
                tries += 1
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
