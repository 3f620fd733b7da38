"""State file bytes on disk: the bounded read and the atomic rewrite, at their edges."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from modelsched.drivers.local import files
from modelsched.errors import StateError


@pytest.mark.parametrize("size", [0, 1, 999, 1000], ids=["empty", "one byte", "just under", "exactly the limit"])
def test_a_file_up_to_the_limit_is_read_whole(tmp_path: Path, size: int) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_bytes(b"x" * size)
    assert files.read(path, limit=1000) == b"x" * size


def test_one_byte_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_bytes(b"x" * 1001)
    with pytest.raises(StateError, match=r"larger than the 1000 bytes limit"):
        files.read(path, limit=1000)


def test_a_limit_of_mebibytes_is_shown_in_mib(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_bytes(b"x" * (2 * 2**20 + 1))
    with pytest.raises(StateError, match=r"larger than the 2 MiB limit for a state file"):
        files.read(path, limit=2 * 2**20)


def test_a_file_larger_than_one_read_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    data = bytes(range(256)) * (2**16 + 3)  # 16 MiB and a bit: more than one os.read
    path.write_bytes(data)
    assert files.read(path) == data


def test_a_directory_as_the_state_is_not_a_regular_file(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=f"cluster state {tmp_path}: not a regular file"):
        files.read(tmp_path)


def test_a_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"file not found \(give --state PATH or set MODELSCHED_STATE\)"):
        files.read(tmp_path / "nope.yaml")


def test_a_path_through_a_file_is_a_read_error_naming_the_cause(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(StateError, match=r"cannot read: Not a directory"):
        files.read(tmp_path / "f" / "cluster.yaml")


def test_a_new_file_is_written_readable_by_all_writable_by_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    files.write_atomic(path, b"nodes: []\n")
    assert path.read_bytes() == b"nodes: []\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664, 0o2644], ids=oct)
def test_a_rewrite_keeps_the_mode_bits(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_bytes(b"old")
    path.chmod(mode)
    files.write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_a_rewrite_replaces_the_file_rather_than_writing_into_it(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_bytes(b"old")
    hard_link = tmp_path / "snapshot"
    os.link(path, hard_link)
    files.write_atomic(path, b"new")
    assert hard_link.read_bytes() == b"old"  # readers of the old file never see a half-written one
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_the_target_of_a_symlink_chain_is_its_last_file(tmp_path: Path) -> None:
    (tmp_path / "real.yaml").write_text("")
    (tmp_path / "a.yaml").symlink_to("real.yaml")
    assert files.target(tmp_path / "a.yaml") == tmp_path / "real.yaml"
    assert files.target(tmp_path / "real.yaml") == tmp_path / "real.yaml"


def test_a_write_into_a_missing_directory_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"cannot write: .*; the file was not changed"):
        files.write_atomic(tmp_path / "nope" / "cluster.yaml", b"x")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_limit_of_exactly_one_mebibyte_is_shown_in_mib(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_bytes(b"x" * (2**20 + 1))
    with pytest.raises(StateError) as err:
        files.read(path, limit=2**20)
    assert str(err.value) == f"cluster state {path}: larger than the 1 MiB limit for a state file"


def test_a_file_that_reports_no_size_is_still_read_only_up_to_the_limit() -> None:
    path = Path("/proc/self/status")  # a regular file whose st_size is 0
    assert files.read(path).startswith(b"Name:")
    with pytest.raises(StateError) as err:
        files.read(path, limit=10)
    assert str(err.value) == "cluster state /proc/self/status: larger than the 10 bytes limit for a state file"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "file not found (give --state PATH or set MODELSCHED_STATE)"),
        (lambda p: p.mkdir(), "not a regular file"),
        (lambda p: p.write_bytes(b"x" * 11), "larger than the 10 bytes limit for a state file"),
    ],
    ids=["missing", "a directory", "too large"],
)
def test_read_errors_are_one_sentence_naming_the_file_and_leave_no_file_open(
    tmp_path: Path, make: Any, message: str
) -> None:
    path = tmp_path / "cluster.yaml"
    make(path)
    before = open_fds()
    with pytest.raises(StateError) as err:
        files.read(path, limit=10)
    assert str(err.value) == f"cluster state {path}: {message}"
    assert open_fds() == before


def test_a_read_leaves_no_file_open(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_bytes(b"nodes: []\n")
    before = open_fds()
    files.read(path)
    assert open_fds() == before


def test_a_rewrite_fsyncs_the_new_file_then_its_directory_and_closes_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_bytes(b"old")
    synced: list[str] = []
    renamed: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        renamed.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    before = open_fds()
    files.write_atomic(path, b"new")
    assert open_fds() == before
    [(src, dst)] = renamed
    assert Path(dst) == path and Path(src).parent == tmp_path
    assert Path(src).name.startswith(".cluster.yaml.") and Path(src).name.endswith(".tmp")
    assert synced == [src, str(tmp_path)]


def test_a_failed_rewrite_says_so_in_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "cluster.yaml"
    with pytest.raises(StateError) as err:
        files.write_atomic(path, b"x")
    assert str(err.value) == f"cluster state {path}: cannot write: No such file or directory; the file was not changed"
