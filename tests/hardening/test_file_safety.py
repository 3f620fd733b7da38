"""File safety of the local driver: a list of attacks and accidents, each with the
promised outcome. A state file is never clobbered (a symlink stays a link, owner,
group, mode and line endings stay), the lock is never followed through a link, a
held lock is reported and bounded, every read is bounded, names with control
characters are refused, and a tampered plan never writes what the reader refuses.
Every refusal is one located StateError and leaves the file as it was.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelsched.drivers.local import LocalDriver, files
from modelsched.errors import StateError, UsageError
from modelsched.model.drift import node_digests
from modelsched.model.plan import Change, Plan
from modelsched.planner import plan
from tests.builders import desired, spread

STATE = "# keep me\nnodes:\n  - name: g1\n    labels: {tier: gpu}\nreplicas: []\n"


def saved_plan(drv: LocalDriver, *entries: object) -> Plan:
    d = desired(*entries)  # type: ignore[arg-type]
    observed = drv.observe(d)
    made = plan(d, observed, driver="local", cluster=drv.cluster())
    return made.model_copy(update={"observed_nodes": node_digests(observed)})


def quiet(_: str) -> None:
    pass


# --- the state file is never clobbered ---------------------------------------------------------


def test_a_symlinked_state_is_updated_through_the_link_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "cluster.yaml"
    target.write_text(STATE)
    link = tmp_path / "cluster.yaml"
    link.symlink_to(Path("real") / "cluster.yaml")
    drv = LocalDriver(link)
    drv.apply(saved_plan(drv, spread("llm")), quiet)
    assert link.is_symlink() and os.readlink(link) == str(Path("real") / "cluster.yaml")
    assert "- {model: llm, node: g1}" in target.read_text()
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["cluster.yaml", "cluster.yaml.lock"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cluster.yaml", "real"]


def test_a_chain_of_symlinks_is_followed_to_the_file_at_its_end(tmp_path: Path) -> None:
    target = tmp_path / "cluster.yaml"
    target.write_text(STATE)
    (tmp_path / "one.yaml").symlink_to(target)
    (tmp_path / "two.yaml").symlink_to(tmp_path / "one.yaml")
    drv = LocalDriver(tmp_path / "two.yaml")
    drv.apply(saved_plan(drv, spread("llm")), quiet)
    assert (tmp_path / "one.yaml").is_symlink() and (tmp_path / "two.yaml").is_symlink()
    assert "- {model: llm, node: g1}" in target.read_text()


def test_apply_keeps_the_state_files_mode(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(STATE)
    path.chmod(0o640)
    drv = LocalDriver(path)
    drv.apply(saved_plan(drv, spread("llm")), quiet)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_apply_keeps_the_state_files_owner_and_group(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(STATE)
    os.chown(path, 4321, 8765)
    drv = LocalDriver(path)
    drv.apply(saved_plan(drv, spread("llm")), quiet)
    assert (path.stat().st_uid, path.stat().st_gid) == (4321, 8765)


def test_an_owner_that_cannot_be_kept_means_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(STATE)
    real_stat = os.stat

    def owned_by_someone_else(p: object, *args: object, **kw: object) -> os.stat_result:
        st = real_stat(p, *args, **kw)  # type: ignore[arg-type]
        if Path(str(p)) == path:
            fields = list(st)
            fields[4] = os.geteuid() + 1  # st_uid
            return os.stat_result(fields)
        return st

    def refuse(*_: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    drv = LocalDriver(path)
    p = saved_plan(drv, spread("llm"))
    monkeypatch.setattr(os, "stat", owned_by_someone_else)
    monkeypatch.setattr(os, "fchown", refuse)
    with pytest.raises(StateError) as err:
        drv.apply(p, quiet)
    gid = path.stat().st_gid
    assert str(err.value) == (
        f"cluster state {path}: cannot keep its owner and group (uid {os.geteuid() + 1}, gid {gid}) "
        f"when rewriting it as uid {os.geteuid()}; the file was not changed"
    )
    assert path.read_text() == STATE
    assert [f.name for f in tmp_path.iterdir() if f.suffix == ".tmp"] == []


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "cluster.yaml",
            STATE.replace("\n", "\r\n"),
            "# keep me\r\nnodes:\r\n  - name: g1\r\n    labels: {tier: gpu}\r\nreplicas:\r\n"
            "  - {model: llm, node: g1}\r\n",
        ),
        (
            "cluster.json",
            '{"nodes": [{"name": "g1"}], "replicas": []}\r\n',
            '{\r\n  "nodes": [\r\n    {\r\n      "name": "g1"\r\n    }\r\n  ],\r\n  "replicas": [\r\n    {\r\n'
            '      "model": "llm",\r\n      "node": "g1"\r\n    }\r\n  ]\r\n}\r\n',
        ),
    ],
    ids=["a CRLF YAML state keeps CRLF", "a CRLF JSON state keeps CRLF"],
)
def test_line_endings_are_kept(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode())
    drv = LocalDriver(path)
    drv.apply(saved_plan(drv, spread("llm")), quiet)
    assert path.read_bytes() == expected.encode()


def test_a_flow_style_yaml_state_keeps_its_comments(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text("# the lab\n{nodes: [{name: g1}],  # one node\n replicas: []}  # end\n")
    drv = LocalDriver(path)
    drv.apply(saved_plan(drv, spread("llm")), quiet)
    assert path.read_text() == (
        "# the lab\n{nodes: [{name: g1}],  # one node\n replicas: [{model: llm, node: g1}]}  # end\n"
    )


# --- the lock --------------------------------------------------------------------------------


def test_a_symlink_planted_at_the_lock_is_refused_and_never_followed(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(STATE)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "cluster.yaml.lock").symlink_to(victim)
    drv = LocalDriver(path)
    with pytest.raises(StateError, match=r"the lock file .*cluster.yaml.lock is a symbolic link; refusing to follow"):
        drv.apply(saved_plan(drv, spread("llm")), quiet)
    assert victim.read_text() == "precious"
    assert path.read_text() == STATE


def test_a_dangling_symlink_at_the_lock_creates_nothing_where_it_points(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(STATE)
    (tmp_path / "cluster.yaml.lock").symlink_to(tmp_path / "created-by-attacker")
    drv = LocalDriver(path)
    with pytest.raises(StateError, match="is a symbolic link"):
        drv.apply(saved_plan(drv, spread("llm")), quiet)
    assert not (tmp_path / "created-by-attacker").exists()


def test_a_lock_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(STATE)
    os.mkfifo(tmp_path / "cluster.yaml.lock")
    drv = LocalDriver(path)
    with pytest.raises(StateError, match="is not a regular file; refusing to use it"):
        drv.apply(saved_plan(drv, spread("llm")), quiet)
    assert path.read_text() == STATE


HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0)
os.write(fd, b"%d\\n" % os.getpid())
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the state lock of tmp_path/cluster.yaml until its stdin closes."""
    (tmp_path / "cluster.yaml").write_text(STATE)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "cluster.yaml.lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
    yield proc
    if proc.stdin and not proc.stdin.closed:
        proc.stdin.close()
    proc.wait(timeout=10)


def test_a_held_lock_fails_at_once_by_default_naming_the_holder(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    drv = LocalDriver(tmp_path / "cluster.yaml")
    p = saved_plan(drv, spread("llm"))
    with pytest.raises(StateError) as err:
        drv.apply(p, quiet)
    assert f"the state lock {tmp_path / 'cluster.yaml.lock'} is held by pid {holder.pid}; nothing was applied" in str(
        err.value
    )
    assert "--lock-timeout DURATION" in str(err.value)
    assert (tmp_path / "cluster.yaml").read_text() == STATE


def test_a_held_lock_is_reported_while_waiting_and_apply_goes_on_once_it_is_free(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    drv = LocalDriver(tmp_path / "cluster.yaml", lock_timeout=30)
    p = saved_plan(drv, spread("llm"))
    messages: list[str] = []

    def report(message: str) -> None:
        messages.append(message)
        if message.startswith("waiting") and holder.stdin:
            holder.stdin.close()  # the other process finishes while we wait

    report_ok = drv.apply(p, report)
    assert messages[0] == f"waiting for the state lock (held by pid {holder.pid})"
    assert report_ok.ok and "- {model: llm, node: g1}" in (tmp_path / "cluster.yaml").read_text()


def test_the_lock_timeout_bounds_the_wait(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    drv = LocalDriver(tmp_path / "cluster.yaml", lock_timeout=0.3)
    p = saved_plan(drv, spread("llm"))
    messages: list[str] = []
    with pytest.raises(StateError, match=rf"is still held after 0.3s by pid {holder.pid}; nothing was applied"):
        drv.apply(p, messages.append)
    assert messages == [f"waiting for the state lock (held by pid {holder.pid})"]


@pytest.mark.parametrize("timeout", [-1.0, float("nan"), float("inf")], ids=["negative", "NaN", "infinite"])
def test_a_lock_timeout_that_is_not_a_finite_non_negative_number_is_a_usage_error(
    tmp_path: Path, timeout: float
) -> None:
    with pytest.raises(UsageError, match="lock timeout must be a finite number of seconds >= 0"):
        LocalDriver(tmp_path / "cluster.yaml", lock_timeout=timeout)


# --- every read is bounded -------------------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_the_state_ends_at_once(device: str) -> None:
    with pytest.raises(StateError, match=f"cluster state {device}: not a regular file"):
        LocalDriver(device).observe(desired())


def test_a_fifo_as_the_state_ends_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "cluster.yaml")
    with pytest.raises(StateError, match="not a regular file"):
        LocalDriver(tmp_path / "cluster.yaml").observe(desired())


def test_a_state_above_the_size_limit_is_refused_naming_file_and_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(STATE + "#" * 1000 + "\n")
    monkeypatch.setattr(files, "MAX_STATE_BYTES", 1000)
    with pytest.raises(StateError, match=f"cluster state {path}: larger than the 1000 bytes limit for a state file"):
        LocalDriver(path).observe(desired())


def test_the_default_size_limit_is_256_mib() -> None:
    assert files.MAX_STATE_BYTES == 256 * 2**20


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("cluster.json", '{"nodes": ' + "[" * 100_000 + "]" * 100_000 + "}", "nesting deeper than 64 levels at line 1"),
        ("cluster.yaml", "nodes: " + "[" * 100_000 + "]" * 100_000 + "\n", "exceeded maximum nesting depth"),
        (
            "cluster.json",
            '{"nodes": [{"name": "n", "slots": 1' + "0" * 5000 + "}]}",
            "nodes[0].slots: slots must be a whole number from 1 to 2147483647, got <integer of 5001 digits>",
        ),
        (
            "cluster.json",
            '{"nodes": [{"name": "n", "labels": {"a": -' + "9" * 5000 + "}}]}",
            "nodes[0].labels.a: label values must be strings, got <integer of 5000 digits>",
        ),
    ],
    ids=[
        "JSON nested 100000 deep",
        "YAML nested 100000 deep",
        "a 5001-digit integer in JSON",
        "a 5000-digit negative integer as a label",
    ],
)
def test_nesting_and_integer_length_are_bounded_with_a_located_error(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(StateError) as err:
        LocalDriver(path).observe(desired())
    assert message in str(err.value) and str(path) in str(err.value)


def test_yaml_alias_expansion_is_budgeted_per_document(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = tmp_path / "cluster.yaml"
    path.write_text("\n".join(lines) + "\nnodes: *a8\n")
    with pytest.raises(StateError, match=r"YAML aliases expand to more than 1000000 nodes \(at line \d+\)"):
        LocalDriver(path).observe(desired())


def test_a_huge_structure_behind_an_alias_never_appears_in_full_in_an_error(tmp_path: Path) -> None:
    lines = ["x0: &x0 [a, b, c, d]"] + [f"x{i}: &x{i} [*x{i - 1}, *x{i - 1}, *x{i - 1}]" for i in range(1, 7)]
    path = tmp_path / "cluster.yaml"
    path.write_text("\n".join(lines) + "\nnodes:\n  - {name: n, labels: {k: *x6}}\n")
    with pytest.raises(StateError) as err:
        LocalDriver(path).observe(desired())
    assert len(str(err.value)) < 600


# --- control characters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('nodes:\n  - {name: "g\\a1"}\n', "nodes[0]: name 'g\\x071' contains control character U+0007"),
        ('nodes:\n  - {name: "g\\e[31m"}\n', "nodes[0]: name 'g\\x1b[31m' contains control character U+001B"),
        ('nodes:\n  - {name: g1, labels: {"t\\ni": gpu}}\n', "nodes[0].labels: label name 't\\ni' contains control"),
        (
            'nodes:\n  - {name: g1, labels: {tier: "gpu\\u202e"}}\n',
            "nodes[0].labels.tier: label value 'gpu\\u202e' contains control character U+202E",
        ),
        (
            'nodes:\n  - {name: g1, labels: {"\\x85": x}}\n',
            "nodes[0].labels: label name '\\x85' contains control character U+0085",
        ),
        (
            'nodes: [{name: g1}]\nreplicas:\n  - {model: ok, node: g1}\n  - {model: "m\\x7f", node: g1}\n',
            "replicas[1]: model name 'm\\x7f' contains control character U+007F",
        ),
        (
            'nodes: [{name: g1}]\nreplicas:\n  - {model: m, node: "g1\\u2066"}\n',
            "replicas[0]: node name 'g1\\u2066' contains control character U+2066",
        ),
    ],
    ids=[
        "a bell in a node name",
        "a terminal escape in a node name",
        "a newline in a label name",
        "a bidi override in a label value",
        "a C1 control as a label name",
        "DEL in a replica's model",
        "a bidi isolate in a replica's node",
    ],
)
def test_control_characters_in_names_and_labels_are_refused_with_a_located_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(text)
    with pytest.raises(StateError) as err:
        LocalDriver(path).observe(desired())
    assert f"cluster state {path}: {message}" in str(err.value)


def test_control_characters_in_a_json_state_are_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "cluster.json"
    path.write_text('{"nodes": [{"name": "g1", "labels": {"t": "\\u001b]8;;x"}}]}')
    with pytest.raises(StateError, match=r"nodes\[0\].labels.t: label value '\\x1b\]8;;x' contains control"):
        LocalDriver(path).observe(desired())


# --- a tampered plan -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (Change("m\x1b[2J", "g1", "add", "spread", {}, "g1"), "plan: changes[0]: model name 'm\\x1b[2J' contains"),
        (Change("m", "g1\n- {model: x, node: y}", "add", "spread", {}, "g1\n- {model: x, node: y}"), "node name"),
        (Change("", "g1", "add", "spread", {}, "g1"), "plan: changes[0]: expected {model: <name>, node: <node name>}"),
        (Change("m", "", "add", "spread", {}, ""), "with non-empty strings"),
    ],
    ids=[
        "a terminal escape as the model",
        "a newline smuggling a second replica into the node",
        "an empty model",
        "an empty node",
    ],
)
def test_a_tampered_plan_never_writes_a_replica_the_reader_would_refuse(
    tmp_path: Path, change: Change, message: str
) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(STATE)
    drv = LocalDriver(path)
    p = saved_plan(drv).model_copy(update={"changes": [change]})
    with pytest.raises(StateError) as err:
        drv.apply(p, quiet)
    assert message in str(err.value)
    assert path.read_text() == STATE
