"""The state lock: who holds it, how long a waiter polls, what it leaves behind."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelsched.drivers.local import lock
from modelsched.errors import StateError


@pytest.fixture
def held(tmp_path: Path) -> Iterator[int]:
    """The lock of tmp_path/cluster.yaml held through another open file description."""
    fd = os.open(tmp_path / "cluster.yaml.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    yield fd
    os.close(fd)


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_a_free_lock_is_taken_at_once_with_our_pid_written_and_cleared_after(tmp_path: Path) -> None:
    messages: list[str] = []
    state = tmp_path / "cluster.yaml"
    with lock.locked(state, state, timeout=0, notify=messages.append):
        assert (tmp_path / "cluster.yaml.lock").read_text() == f"{os.getpid()}\n"
    assert messages == []
    assert (tmp_path / "cluster.yaml.lock").read_text() == ""


def test_a_waiter_polls_faster_first_then_every_fifth_of_a_second_until_the_timeout(tmp_path: Path, held: int) -> None:
    os.write(held, b"4242\n")
    fake = FakeTime()
    messages: list[str] = []
    state = tmp_path / "cluster.yaml"
    with (
        pytest.raises(StateError, match=r"is still held after 1s by pid 4242; nothing was applied"),
        lock.locked(state, state, timeout=1.0, notify=messages.append, clock=fake.clock, sleep=fake.sleep),
    ):
        pass
    assert messages == ["waiting for the state lock (held by pid 4242)"]
    assert fake.sleeps == [0.01, 0.02, 0.05, 0.1, 0.2, 0.2, 0.2, 0.2, 0.02]
    assert sum(fake.sleeps) == pytest.approx(1.0)


def test_a_zero_timeout_tries_once_says_nothing_and_fails(tmp_path: Path, held: int) -> None:
    fake = FakeTime()
    messages: list[str] = []
    state = tmp_path / "cluster.yaml"
    with (
        pytest.raises(StateError, match=r"is held by another process; nothing was applied"),
        lock.locked(state, state, timeout=0, notify=messages.append, clock=fake.clock, sleep=fake.sleep),
    ):
        pass
    assert messages == [] and fake.sleeps == []


@pytest.mark.parametrize(
    ("content", "holder"),
    [(b"", "another process"), (b"0\n", "another process"), (b"-5\n", "another process"), (b"x\n", "another process"),
     (b"77\n", "pid 77")],
    ids=["empty", "zero", "negative", "not a number", "a pid"],
)  # fmt: skip
def test_the_holder_is_named_by_the_pid_in_the_lock_file_when_there_is_one(
    tmp_path: Path, held: int, content: bytes, holder: str
) -> None:
    os.write(held, content)
    state = tmp_path / "cluster.yaml"
    with pytest.raises(StateError, match=f"is held by {holder}; "), lock.locked(state, state, timeout=0, notify=print):
        pass


def test_the_lock_sits_next_to_the_file_it_guards() -> None:
    assert lock.lock_path(Path("/a/b/cluster.yaml")) == Path("/a/b/cluster.yaml.lock")


def test_a_new_lock_file_is_readable_by_all_writable_by_its_owner(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        state = tmp_path / "cluster.yaml"
        with lock.locked(state, state, timeout=0, notify=print):
            pass
    finally:
        os.umask(old)
    assert (tmp_path / "cluster.yaml.lock").stat().st_mode & 0o777 == 0o644
