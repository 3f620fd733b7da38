"""The YAML state readers: the fast layout reader gives exactly what the general reader
(PyYAML's C BaseLoader) gives, or declines; it takes the layouts modelsched writes and
its examples use; the general reader refuses duplicate keys and reads slots.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from modelsched.drivers.local import yamlfast, yamlstate
from modelsched.errors import StateError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
Outcome = tuple[str, object]


def general(text: str) -> Outcome:
    try:
        return ("state", yamlstate.read(text, "s.yaml")[1])
    except StateError as exc:
        return ("error", str(exc))


def fast(text: str) -> Outcome | None:
    try:
        state = yamlfast.read(text, "s.yaml")
    except StateError as exc:
        return ("error", str(exc))
    return None if state is None else ("state", state)


words = st.sampled_from(
    ["g1", "g2", "gpu-1", "llama3:8b", "a.b/c_d+e", "1", "true", "~", "'q'", "'it''s'", "''", "' x '", "a b", "x#y",
     "-x", "'a: b'", "'#'", "{}", "[]", "null", "'\u202e'", "slots", "name"]
)  # fmt: skip
statuses = st.sampled_from(["ready", "down", "draining", "bogus", "'ready'", ""])


@st.composite
def label_text(draw: st.DrawFn, indent: int) -> str:
    pairs = draw(st.lists(st.tuples(words, words), max_size=3))
    style = draw(st.sampled_from(["flow", "block", "empty"]))
    if style == "flow" or not pairs:
        return " {" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}" if style != "empty" else ""
    return "".join(f"\n{' ' * (indent + 2)}{k}: {v}" for k, v in pairs)


@st.composite
def node_text(draw: st.DrawFn, indent: int) -> str:
    name = draw(words)
    fields = draw(st.lists(st.sampled_from(["labels", "status", "eligible", "slots", "colour"]), unique=True))
    if draw(st.booleans()):
        parts = [f"name: {name}"]
        for f in fields:
            value = {"labels": "{tier: gpu, zone: a}", "status": draw(statuses), "eligible": "false"}.get(f, "2")
            parts.append(f"{f}: {value}")
        return f"{' ' * indent}- {{{', '.join(parts)}}}"
    lines = [f"{' ' * indent}- name: {name}"]
    for f in fields:
        key = " " * (indent + 2) + f
        if f == "labels":
            lines.append(f"{key}:{draw(label_text(indent + 2))}")
        else:
            lines.append(f"{key}: {draw(statuses) if f == 'status' else draw(st.sampled_from(['2', 'no', '0']))}")
        if draw(st.integers(0, 5)) == 0:
            lines[-1] += "   # note"
    return "\n".join(lines)


@st.composite
def replica_text(draw: st.DrawFn, indent: int) -> str:
    model, node = draw(words), draw(words)
    if draw(st.integers(0, 3)) == 0:
        return f"{' ' * indent}- model: {model}\n{' ' * indent}  node: {node}"
    return f"{' ' * indent}- {{model: {model}, node: {node}}}"


@st.composite
def states(draw: st.DrawFn) -> str:
    indent = draw(st.sampled_from([0, 2, 4]))
    parts = []
    if draw(st.booleans()):
        parts.append("# a cluster")
    order = draw(st.permutations(["nodes", "replicas"]))
    for key in order:
        items = draw(st.lists(node_text(indent) if key == "nodes" else replica_text(indent), max_size=4))
        if not items and draw(st.booleans()):
            parts.append(f"{key}: []")
            continue
        parts.append(f"{key}:")
        for item in items:
            parts.append(item)
            if draw(st.integers(0, 6)) == 0:
                parts.append(draw(st.sampled_from(["", "  # between", "# at column 0"])))
    return "\n".join(parts) + draw(st.sampled_from(["\n", "", "\n\n"]))


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(states())
    for _ in range(draw(st.integers(0, 2))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        edit = draw(st.sampled_from(["insert", "delete", "duplicate line"]))
        if edit == "insert":
            text = text[:at] + draw(st.sampled_from(list(" :#'\"-{},\t&*!|>\n\r["))) + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            text = "\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    return text


@settings(max_examples=1500, deadline=None)
@given(mutated())
def test_the_fast_reader_gives_what_the_general_reader_gives_or_declines(text: str) -> None:
    got = fast(text)
    if got is not None:
        assert got == general(text)


@settings(max_examples=300, deadline=None)
@given(states())
def test_the_fast_reader_takes_every_well_formed_state_of_plain_words(text: str) -> None:
    if any(w in text for w in ("' x '", "a b", "x#y", "-x", "~", "{}", "[]", "'a: b'", "'#'", "\u202e", "null")):
        return
    if re.search(r":[ \t]+#", text):  # a key with no value but a comment: the fast reader declines it
        return
    want = general(text)
    if want[0] == "state":
        assert fast(text) == want


WRITTEN = """\
# the lab
nodes:
  - name: gpu-1
    labels: {tier: gpu, zone: a}   # the big one
    slots: 2
  - name: gpu-2
    labels:
      tier: gpu
      zone: b
    status: draining
  - {name: cpu-1, labels: {tier: cpu}, eligible: false}

# what runs
replicas:
  - {model: gpt-oss, node: gpu-1}
  - {model: 'llama3:8b', node: gpu-1}
  - {model: 'it''s', node: gpu-2}
"""


@pytest.mark.parametrize(
    "text",
    [
        WRITTEN,
        (EXAMPLES / "cluster.yaml").read_text(),
        yaml.safe_dump(yaml.load(WRITTEN, Loader=yaml.BaseLoader), sort_keys=False),
        yaml.safe_dump(yaml.load(WRITTEN, Loader=yaml.BaseLoader), sort_keys=True),
        "",
        "# only a comment\n",
        "nodes: []\nreplicas: []\n",
    ],
    ids=[
        "the layout apply writes, with nested labels and comments",
        "the bundled example",
        "yaml.safe_dump's block layout",
        "yaml.safe_dump's block layout with sorted keys",
        "an empty file",
        "only a comment",
        "empty lists",
    ],
)
def test_the_fast_reader_takes_the_layouts_modelsched_writes_and_ships(text: str) -> None:
    got = fast(text)
    assert got is not None
    assert got == general(text)


def test_the_written_layout_reads_as_meant() -> None:
    nodes, replicas, notices = yamlstate.read(WRITTEN, "s.yaml")[1]
    assert [(n.name, dict(n.labels), n.status, n.eligible, n.slots) for n in nodes] == [
        ("gpu-1", {"tier": "gpu", "zone": "a"}, "ready", True, 2),
        ("gpu-2", {"tier": "gpu", "zone": "b"}, "draining", True, 1),
        ("cpu-1", {"tier": "cpu"}, "ready", False, 1),
    ]
    assert replicas == {"gpt-oss": ["gpu-1"], "llama3:8b": ["gpu-1"], "it's": ["gpu-2"]}
    assert notices == []


@pytest.mark.parametrize(
    "text",
    [
        "nodes:\n\t- name: a\n",
        'nodes:\n  - name: "a"\n',
        "nodes:\n  - name: &x a\n",
        "---\nnodes: []\n",
        "nodes:\n  - name: a\n    labels: {t: a,\n      u: b}\n",
        "nodes:\n  - name: a\n  - name: b\n    name: c\n",
        "nodes:\n  - name: a b\n",
        "nodes: []\nnodes: []\n",
        "nodes:\r\n  - name: a\r\n",
        "replicas:\n  - {node: n, model: m, x: y}\n",
        "- a\n",
    ],
    ids=[
        "a tab",
        "double quotes",
        "an anchor",
        "a document marker",
        "a flow mapping over two lines",
        "a duplicate key in a node",
        "a plain scalar with a space",
        "a duplicate top-level key",
        "CRLF line ends",
        "a replica with a third key",
        "a list at the root",
    ],
)
def test_the_fast_reader_declines_what_is_outside_its_layout(text: str) -> None:
    assert yamlfast.read(text, "s.yaml") is None


@pytest.mark.parametrize(
    ("value", "slots"), [("1", 1), ("3", 3), ("'3'", 3), ("2147483647", 2147483647)], ids=["1", "3", "quoted", "max"]
)
def test_yaml_slots_are_plain_whole_numbers(value: str, slots: int) -> None:
    assert yamlstate.read(f"nodes:\n  - {{name: n, slots: {value}}}\n", "s.yaml")[1][0][0].slots == slots


@pytest.mark.parametrize("value", ["0", "-1", "true", "1.5", "0x10", "1_000", "2147483648", "''", "[1]"], ids=str)
def test_yaml_slots_that_are_not_a_whole_number_from_one_are_refused(value: str) -> None:
    with pytest.raises(StateError, match=r"cluster state s.yaml: nodes\[0\].slots: slots must be a whole number"):
        yamlstate.read(f"nodes:\n  - {{name: n, slots: {value}}}\n", "s.yaml")


def test_duplicate_keys_are_refused_with_both_lines() -> None:
    text = "nodes:\n  - name: a\n    labels:\n      zone: x\n      zone: y\n"
    with pytest.raises(StateError, match=r"cluster state s.yaml: duplicate key 'zone' at line 5 \(first at line 4\)"):
        yamlstate.read(text, "s.yaml")
