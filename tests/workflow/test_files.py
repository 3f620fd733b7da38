"""Plan files and reports are written whole or not at all, and never over an input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelsched.errors import ModelschedError, UsageError
from modelsched.workflow import files


def test_a_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old\n")
    files.write_file(str(target), "new\n", "plan file")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]  # no temp file left


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old\n")

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ModelschedError, match=f"cannot write plan file {target}: No space left on device"):
        files.write_file(str(target), "new\n", "plan file")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def test_a_write_into_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelschedError, match=r"cannot write apply report .*nope/r\.json"):
        files.write_file(str(tmp_path / "nope" / "r.json"), "{}", "apply report")


@pytest.mark.parametrize(
    ("content", "ours"),
    [('{\n  "format_version": 1,\n  "generator": "modelsched 0.1.0",\n', True), ("", True), ("  \n", True),
     ('{"format_version": 1, "generator": "other 1.0"}', False), ("nodes: []\n", False),
     ('{"generator": "modelsched 0.1.0"}', False)],
    ids=["a plan or report modelsched wrote", "an empty file", "a blank file", "another tool's JSON",
         "a state file", "JSON without a format version"],
)
def test_only_files_modelsched_wrote_may_be_replaced(tmp_path: Path, content: str, ours: bool) -> None:
    target = tmp_path / "out.json"
    target.write_text(content)
    if ours:
        files.check_output_path("--out", str(target), [])
    else:
        with pytest.raises(UsageError, match="exists and is not a file modelsched wrote"):
            files.check_output_path("--out", str(target), [])


def test_a_new_path_is_fine_and_an_input_is_not(tmp_path: Path) -> None:
    state = tmp_path / "cluster.yaml"
    state.write_text("nodes: []\n")
    files.check_output_path("--out", str(tmp_path / "new.json"), [("the cluster state file", state)])
    with pytest.raises(UsageError, match="is the cluster state file"):
        files.check_output_path("--out", str(tmp_path / "." / "cluster.yaml"), [("the cluster state file", state)])
