"""Every read is bounded: attacks on size, nesting, number length and alias expansion.

Config files, environment JSON and plan files are read with a size limit; what could
block or never end (a FIFO with no writer, /dev/zero, a directory) is refused at
once; JSON nesting and integer length are located errors, never a RecursionError or
a slow conversion; YAML aliases are budgeted per document. Promise for every attack:
exit 1, one message naming the file (and the limit where there is one), no
traceback, nothing changed.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelsched.config.limits import MAX_CONFIG_BYTES, MAX_PLAN_BYTES, MAX_VALUES, InputRefused, read_stream
from modelsched.config.load import load_desired, load_text
from modelsched.config.planfile import read_plan
from modelsched.errors import ConfigError, PlanFileError
from tests.clirun import Result, Run

CLUSTER = "nodes:\n  - {name: gpu-1, labels: {tier: gpu}}\n  - {name: gpu-2, labels: {tier: gpu}}\nreplicas: []\n"
CONFIG = "- {model_name: llm, node_selector: {tier: gpu}, replicas: all}\n"


@pytest.fixture
def cli(request: pytest.FixtureRequest) -> Run:
    """The real CLI, in-process (tests/cli/conftest.py `run`)."""
    runner: Run = request.getfixturevalue("run")
    return runner


def refused(r: Result) -> str:
    """The error output of a failed run, after checking the promise: exit 1, one message, no traceback."""
    code, out, err = r.code, r.out, r.err
    assert code == 1, (out, err)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, err
    return err


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO nobody writes to. A watchdog opens it for writing after 5 s, so code that
    blocks on it reads `[]` and fails the test instead of hanging the suite."""
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    done = threading.Event()

    def unblock() -> None:
        if not done.wait(5):
            with open(path, "w") as writer:
                writer.write("[]\n")

    watchdog = threading.Thread(target=unblock, daemon=True)
    watchdog.start()
    yield path
    done.set()
    watchdog.join(6)


def sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


# -- config files ---------------------------------------------------------------------


def test_dev_zero_as_the_config_is_refused_at_once(cli: Run) -> None:
    err = refused(cli("validate", "--config", "/dev/zero"))
    assert "/dev/zero: cannot read scheduling config: is a character device, not a regular file" in err


def test_a_fifo_without_a_writer_as_the_config_is_refused_at_once(cli: Run, fifo: Path) -> None:
    err = refused(cli("validate", "--config", str(fifo)))
    assert f"{fifo}: cannot read scheduling config: is a FIFO (named pipe), not a regular file; " \
        "pipe a config with --config - instead" in err


def test_a_directory_as_the_config_is_refused(cli: Run, tmp_path: Path) -> None:
    err = refused(cli("validate", "--config", str(tmp_path)))
    assert f"{tmp_path}: cannot read scheduling config: is a directory" in err


def test_a_config_above_the_size_limit_is_refused_before_it_is_read(cli: Run, tmp_path: Path) -> None:
    big = sparse(tmp_path / "big.yaml", MAX_CONFIG_BYTES + 1)
    err = refused(cli("validate", "--config", str(big)))
    assert f"{big}: cannot read scheduling config: larger than the 8 MiB limit" in err


def test_a_config_at_the_size_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(CONFIG + "#" * (MAX_CONFIG_BYTES - len(CONFIG) - 1) + "\n")
    assert path.stat().st_size == MAX_CONFIG_BYTES
    assert [e.model_name for e in load_desired(str(path), {}).entries] == ["llm"]


def test_dev_zero_named_by_the_environment_names_the_variable(cli: Run) -> None:
    err = refused(cli("validate", env={"LOCALAI_MODEL_SCHEDULING_CONFIG": "/dev/zero"}))
    assert "/dev/zero: cannot read scheduling config: is a character device, not a regular file; " in err
    assert "(path from LOCALAI_MODEL_SCHEDULING_CONFIG)" in err


def test_stdin_above_the_size_limit_is_refused(cli: Run) -> None:
    err = refused(cli("validate", "--config", "-", input="#" * (MAX_CONFIG_BYTES + 1)))
    assert "<stdin>: cannot read scheduling config: larger than the 8 MiB limit" in err


def test_a_byte_stream_stops_reading_at_the_limit() -> None:
    class Endless(io.RawIOBase):
        reads = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            Endless.reads += 1
            buffer[:] = b"x" * len(buffer)
            return len(buffer)

    with pytest.raises(InputRefused, match="larger than the 1 MiB limit"):
        read_stream(io.BufferedReader(Endless()), 1024 * 1024)  # type: ignore[type-var]
    assert Endless.reads <= 3


CONFIG_DOCUMENTS = [
    pytest.param(
        "deep.json", "[" * 100_000 + "]" * 100_000, "deep.json:1:65: nested deeper than 64 levels",
        id="JSON nested 100,000 deep is a located error, not a RecursionError",
    ),
    pytest.param(
        "deep.json", '[{"model_name": "m", "vars": ' + "[" * 70 + "]" * 70 + "}]",
        "deep.json:1:", id="JSON nesting inside vars counts too",
    ),
    pytest.param(
        "long.json", '[{"model_name": "m",\n "vars": {"n": ' + "9" * 100_000 + "}}]",
        "long.json:2:16: integer too long (more than 20 digits)",
        id="a JSON integer of 100,000 digits is a located error, not a ValueError",
    ),
    pytest.param(
        "nan.json", '[{"model_name": "m", "vars": {"n": -Infinity}}]', "nan.json:1:36: -Infinity is not a JSON number",
        id="JSON Infinity is not JSON",
    ),
    pytest.param(
        "deep.yaml", "[" * 999 + "]" * 999, "deep.yaml:1: nested deeper than 64 levels",
        id="YAML flow nesting is a located error",
    ),
    pytest.param(
        "deepblock.yaml", "".join("  " * i + "- \n" for i in range(80)) + "  " * 80 + "x\n",
        "deepblock.yaml:", id="YAML block nesting is a located error",
    ),
    pytest.param(
        "long.yaml", "- model_name: m\n  vars: {n: " + "9" * 5000 + "}\n",
        "long.yaml:2: integer too long (more than 20 digits)",
        id="a YAML integer of 5,000 digits is a located error",
    ),
]


@pytest.mark.parametrize(("name", "text", "message"), CONFIG_DOCUMENTS)
def test_config_documents_beyond_the_bounds(cli: Run, tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    err = refused(cli("validate", "--config", name))
    assert message in err
    assert "nested deeper" in err or "too long" in err or "not a JSON number" in err


def laughs(levels: int = 9, fields: int = 120) -> str:
    """The billion laughs: `l8` expands to 10^9 values; `fields` entries each point at it."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*l{i - 1}"] * 10)
        lines.append(f"l{i}: &l{i} [{refs}]")
    doc = "x-anchors:\n" + "\n".join("  " + line for line in lines) + "\nmodels:\n"
    doc += "".join(f"  - {{model_name: m{i}, vars: {{v: *l{levels - 1}}}}}\n" for i in range(fields))
    return doc


def test_a_billion_laughs_config_costs_one_budget_per_document(tmp_path: Path) -> None:
    text = laughs()
    assert len(text) < 16_000  # a 15 KB file
    (tmp_path / "laughs.yaml").write_text(text)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as caught:
            load_desired(str(tmp_path / "laughs.yaml"), {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    budget = [p for p in caught.value.problems if f"more than {MAX_VALUES} values after expanding aliases" in p]
    assert budget and budget[0].startswith(f"{tmp_path / 'laughs.yaml'}:")
    # One document-wide budget: 10^5 values in all, not 10^5 per field (120 fields).
    assert peak < 60 * 1024 * 1024, peak


def test_aliases_within_the_budget_still_work() -> None:
    text = "- {model_name: m0, vars: &img {image: localai, env: {A: '1'}}}\n" + "".join(
        f"- {{model_name: m{i}, vars: *img}}\n" for i in range(1, 500)
    )
    desired = load_text(text, "s.yaml", "yaml")
    assert len(desired.entries) == 500 and desired.entries[-1].vars == {"image": "localai", "env": {"A": "1"}}


ENV_DOCUMENTS = [
    pytest.param(
        "[" * 10_000 + "]" * 10_000,
        "env MODELSCHED_SCHEDULING: at character 65: nested deeper than 64 levels",
        id="deep inline JSON in the environment",
    ),
    pytest.param('[{"model_name": "m", "min_replicas": ' + "1" * 50_000 + "}]",
                 "env MODELSCHED_SCHEDULING: at character 38: integer too long (more than 20 digits)",
                 id="a long integer in inline JSON in the environment"),
]


@pytest.mark.parametrize(("value", "message"), ENV_DOCUMENTS)
def test_environment_json_beyond_the_bounds(cli: Run, value: str, message: str) -> None:
    err = refused(cli("validate", env={"MODELSCHED_SCHEDULING": value}))
    assert message in err


# -- plan files -------------------------------------------------------------------------


@pytest.fixture
def saved(cli: Run, tmp_path: Path) -> Path:
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    (tmp_path / "sched.yaml").write_text(CONFIG)
    made = cli("plan", "--config", "sched.yaml", "--out", "plan.json")
    assert made.code == 0, made.err
    return tmp_path / "plan.json"


PLAN_FILES = [
    pytest.param("/dev/zero", "plan file /dev/zero: cannot read: is a character device, not a regular file",
                 id="dev zero as the plan file ends at once"),
    pytest.param("DIR", "cannot read: is a directory", id="a directory as the plan file"),
    pytest.param("MISSING", "not found", id="a missing plan file"),
]


@pytest.mark.parametrize(("path", "message"), PLAN_FILES)
def test_plan_files_that_are_not_files(tmp_path: Path, path: str, message: str) -> None:
    target = {"DIR": str(tmp_path), "MISSING": str(tmp_path / "nope.json")}.get(path, path)
    with pytest.raises(PlanFileError) as caught:
        read_plan(target)
    assert message in str(caught.value) and target in str(caught.value)


def test_a_fifo_as_the_plan_file_is_refused_at_once(fifo: Path) -> None:
    with pytest.raises(PlanFileError, match="is a FIFO"):
        read_plan(str(fifo))


def test_a_plan_file_above_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = sparse(tmp_path / "big.json", MAX_PLAN_BYTES + 1)
    with pytest.raises(PlanFileError) as caught:
        read_plan(str(big))
    assert str(caught.value) == f"plan file {big}: cannot read: larger than the 128 MiB limit"


def test_a_real_plan_file_is_read(saved: Path) -> None:
    assert read_plan(str(saved)).summary.add == 2
    assert stat.S_ISREG(saved.stat().st_mode)


def rewrite(path: Path, edit: str, to: str) -> None:
    text = path.read_text()
    assert edit in text
    path.write_text(text.replace(edit, to, 1))


PLAN_DOCUMENTS = [
    pytest.param('"prune": false', '"prune": ' + "[" * 100_000 + "]" * 100_000,
                 "nested deeper than 64 levels", id="a plan nested 100,000 deep"),
    pytest.param('"add": 2', '"add": ' + "2" * 50_000, "integer too long (more than 20 digits)",
                 id="a plan integer of 50,000 digits"),
    pytest.param('"add": 2', '"add": NaN', "NaN is not a JSON number", id="NaN in a plan"),
    pytest.param('"prune": false', '"prune": false, "prune": true', 'duplicate key "prune"',
                 id="a duplicate key in a plan (a reviewer sees one value, a reader could take the other)"),
    pytest.param('"prune": false', '"prune": false, "driver_data": {"x": ' + "[" * 70 + "]" * 70 + "}",
                 "driver_data: nested deeper than 62 levels", id="driver data nested too deep"),
    pytest.param('"prune": false', '"prune": false, "driver_data": {"x": 1e999}',
                 "driver_data: holds the non-finite number inf", id="driver data with an infinite number"),
]


@pytest.mark.parametrize(("edit", "to", "message"), PLAN_DOCUMENTS)
def test_plan_documents_beyond_the_bounds(cli: Run, saved: Path, edit: str, to: str, message: str) -> None:
    state = (saved.parent / "cluster.yaml").read_bytes()
    rewrite(saved, edit, to)
    for command in ("show", "apply"):
        err = refused(cli(command, "plan.json"))
        assert "plan.json: corrupt plan file: " in err and message in err, err
    assert (saved.parent / "cluster.yaml").read_bytes() == state


def test_an_integer_in_a_plan_is_bounded_by_its_field(cli: Run, saved: Path) -> None:
    rewrite(saved, '"add": 2', '"add": 99999999999999999999')
    err = refused(cli("show", "plan.json"))
    assert "plan.json: corrupt plan file: summary.add: Input should be less than or equal to 2147483647" in err


def test_the_plan_reader_error_names_the_json_position(cli: Run, saved: Path) -> None:
    saved.write_text('{"format_version": 1,\n  "x": }')
    err = refused(cli("show", "plan.json"))
    assert "plan.json: not a modelsched plan file (invalid JSON at line 2, column 8" in err


def test_a_document_may_expand_to_exactly_the_budget() -> None:
    def doc(n: int) -> str:  # the vars mapping + its list + n numbers = n + 2 values
        return '[{"model_name": "m", "vars": {"v": [' + ",".join("0" * n) + "]}}]"

    assert load_text(doc(MAX_VALUES - 2), "s.json", "json").entries
    with pytest.raises(ConfigError) as caught:
        load_text(doc(MAX_VALUES - 1), "s.json", "json")
    assert caught.value.problems == [
        f"s.json:1: entry 1 (m): vars.v[{MAX_VALUES - 2}]: the document is too large "
        f"(more than {MAX_VALUES} values after expanding aliases)"
    ]


def test_driver_data_may_nest_to_its_bound(cli: Run, saved: Path) -> None:
    ok = '"prune": false, "driver_data": {"x": ' + "[" * 61 + "]" * 61 + "}"
    rewrite(saved, '"prune": false', ok)
    assert cli("show", "plan.json").code == 0
    rewrite(saved, "[" * 61, "[" * 62)
    rewrite(saved, "]" * 61, "]" * 62)
    assert "driver_data: nested deeper than 62 levels" in refused(cli("show", "plan.json"))
