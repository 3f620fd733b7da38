"""A fast exact reader for the YAML layout modelsched writes and its examples use.

PyYAML builds every scalar through Python objects even with the C loader (seconds and
hundreds of MB for 10^5 replicas). This reads, with a few regular expressions, the
layout apply writes and people write by hand:

    # comments anywhere, on their own line or after a value
    nodes:
      - name: gpu-1                 # a block mapping per node...
        labels: {tier: gpu, zone: a}
        status: draining
      - {name: cpu-1, labels: {tier: cpu}, eligible: false}   # ...or a flow one
    replicas:
      - {model: gpt-oss, node: gpu-1}
      - {model: 'llama3:8b', node: gpu-1}

and the block style `yaml.dump` writes (`- model: x` then `  node: y`). Scalars are
plain words (letters, digits, `_./+-`, inner `:` and `'`) or single-quoted strings on one
line; nested block `labels:` mappings are taken too. It gives exactly what the
general reader (`yamlstate`, PyYAML's BaseLoader) gives, and returns None, leaving
the decision to the general reader, at the first thing outside this layout: tabs,
CR, double quotes, anchors, tags, document markers, multi-line values, a duplicate
key, an empty or control-character name, any key or shape it does not know.
"""

from __future__ import annotations

import re
from typing import Any

from modelsched.drivers.local import build, rules

_PLAIN = r"[A-Za-z0-9_/][A-Za-z0-9_./+'-]*(?::[A-Za-z0-9_./+'-]+)*"
_QUOTED = r"'(?:[^'\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]|'')*'"
_SCALAR = re.compile(rf"(?:({_PLAIN})|({_QUOTED}))")
_COMMENT = r"(?: +#[^\n]*)?"
# A line at column 0 that is not blank, a comment or a sequence item: a top-level key.
_TOP = re.compile(r"\n(?![ #\n-])[^\n]+")
_TOP_KEY = re.compile(rf"(nodes|replicas):(?: *| +\[\] *){_COMMENT}")
_FIRST_ITEM = re.compile(r"\n( *)- ")
_ITEM = re.compile(r"( *)- (\S.*)")
_KEY_LINE = re.compile(rf"( *)(?:({_PLAIN})|({_QUOTED})):(?: +(.*?))?{_COMMENT}")
_END = re.compile(rf" *{_COMMENT}")


def _unquote(text: str) -> str:
    return text[1:-1].replace("''", "'")


def _scalar(text: str, pos: int) -> tuple[str, int] | None:
    found = _SCALAR.match(text, pos)
    if found is None:
        return None
    plain, quoted = found.groups()
    return (plain if plain is not None else _unquote(quoted)), found.end()


def _flow_map(text: str, pos: int, nested: bool) -> tuple[dict[str, Any], int] | None:
    """`{key: value, ...}` at `pos` (values scalars, or flow maps when `nested`) -> (map, end)."""
    if text[pos : pos + 1] != "{":
        return None
    out: dict[str, Any] = {}
    pos += 1
    while text[pos : pos + 1] == " ":
        pos += 1
    if text[pos : pos + 1] == "}":
        return out, pos + 1
    while True:
        key = _scalar(text, pos)
        if key is None or text[key[1] : key[1] + 2] != ": " or key[0] in out:
            return None
        pos = key[1] + 2
        while text[pos : pos + 1] == " ":
            pos += 1
        value: tuple[Any, int] | None
        value = _flow_map(text, pos, False) if nested and text[pos : pos + 1] == "{" else _scalar(text, pos)
        if value is None:
            return None
        out[key[0]] = value[0]
        pos = value[1]
        while text[pos : pos + 1] == " ":
            pos += 1
        if text[pos : pos + 1] == "}":
            return out, pos + 1
        if text[pos : pos + 2] != ", ":
            return None
        pos += 2
        while text[pos : pos + 1] == " ":
            pos += 1


def _value(text: str) -> Any:
    """A block mapping's value written on the key's line: a scalar or a flow map; None if neither."""
    parsed = _flow_map(text, 0, True) if text.startswith("{") else _scalar(text, 0)
    if parsed is None or _END.fullmatch(text, parsed[1]) is None:
        return None
    return parsed[0]


def _key_value(line: str) -> tuple[int, str, str | None] | None:
    found = _KEY_LINE.fullmatch(line)
    if found is None:
        return None
    indent, plain, quoted, rest = found.groups()
    return len(indent), plain if plain is not None else _unquote(quoted), rest


def _items(lines: list[str]) -> list[dict[str, Any]] | None:
    """A block sequence of mappings (flow, or block with one nested block mapping level)."""
    items: list[dict[str, Any]] = []
    item_indent = key_indent = nested_indent = -1
    current: dict[str, Any] | None = None
    nested: dict[str, Any] | None = None  # the mapping under a key with no value on its line
    for line in lines:
        if not line.strip(" ") or line.lstrip(" ").startswith("#"):
            continue
        item = _ITEM.fullmatch(line)
        if item is not None:
            indent = len(item.group(1))
            if item_indent < 0:
                item_indent = indent
            elif indent != item_indent:
                return None
            rest = item.group(2)
            nested = None
            if rest.startswith("{"):
                value = _value(rest)
                if not isinstance(value, dict):
                    return None
                items.append(value)
                current = None  # a flow item takes no more lines
                continue
            current = {}
            items.append(current)
            key_indent = indent + 2
            line = " " * key_indent + rest
        if current is None:
            return None
        parsed = _key_value(line)
        if parsed is None:
            return None
        indent, key, rest = parsed
        if indent == key_indent:
            if key in current:
                return None
            if rest is None:
                nested, nested_indent = {}, -1
                current[key] = ""  # an empty value, unless indented lines follow
                continue
            value = _value(rest)
            if value is None:
                return None
            current[key] = value
            nested = None
        elif nested is not None and indent > key_indent and nested_indent in (-1, indent) and rest is not None:
            nested_indent = indent
            value = _value(rest)
            if not isinstance(value, str) or key in nested:
                return None
            if not nested:
                current[next(reversed(current))] = nested
            nested[key] = value
        else:
            return None
    return items


def _replica_patterns(indent: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """One replica: a flow line (`- {model: m, node: n}`), or two block lines (`- model: m`,
    `  node: n`, as yaml.safe_dump writes them). Each starts with a literal newline (the
    block is read with one in front), so the regex engine jumps from line to line
    instead of trying every character."""
    scalar = rf"(?:({_PLAIN})|({_QUOTED}))"
    return (
        re.compile(rf"\n{indent}- \{{model: {scalar}, node: {scalar}\}}{_COMMENT}(?=\n)"),
        re.compile(rf"\n{indent}- model: {scalar}{_COMMENT}\n{indent}  node: {scalar}{_COMMENT}(?=\n)"),
    )


def _ignorable(text: str) -> bool:
    """Only blank and comment lines."""
    return all(not line.strip(" ") or line.lstrip(" ").startswith("#") for line in text.split("\n"))


def _split_replicas(pattern: re.Pattern[str], padded: str) -> list[tuple[str, str]] | None:
    """The (model, node) pairs when every line between the replicas `pattern` finds is a
    blank or comment line, else None."""
    # split() gives, per replica, the text before it (empty between adjacent replicas)
    # and its four groups: plain or quoted model, plain or quoted node.
    parts = pattern.split(padded)
    gaps = parts[0::5]
    middle = gaps[1:-1]
    if not (_ignorable(gaps[0]) and _ignorable(gaps[-1]) and (not any(middle) or all(map(_ignorable, middle)))):
        return None
    unquoted: dict[str, str] = {}

    def text(plain: str | None, quoted: str) -> str:
        if plain is not None:
            return plain
        found = unquoted.get(quoted)
        if found is None:
            found = unquoted[quoted] = _unquote(quoted)
        return found

    return list(zip(map(text, parts[1::5], parts[2::5]), map(text, parts[3::5], parts[4::5]), strict=True))


def _replicas(block: str) -> list[tuple[str, str]] | None:
    """The `replicas:` block's (model, node) pairs in file order, or None."""
    padded = "\n" + block + "\n"
    first = _FIRST_ITEM.search(padded)
    if first is None:
        return [] if _ignorable(block) else None
    for pattern in _replica_patterns(first.group(1)):
        pairs = _split_replicas(pattern, padded)
        if pairs is not None:
            return pairs
    items = _items(block.split("\n"))
    if items is None or not all(rules.is_replica(r) for r in items):
        return None
    return [(r["model"], r["node"]) for r in items]


def _sections(text: str) -> dict[str, tuple[str, str]] | None:
    """Top-level key -> (text after the colon on its line, the block below it)."""
    # With a newline in front, match i starts (in `text`) where its line starts.
    found = list(_TOP.finditer("\n" + text))
    out: dict[str, tuple[str, str]] = {}
    for i, top in enumerate(found):
        line = top.group()[1:]
        key = _TOP_KEY.fullmatch(line)
        if key is None or key.group(1) in out:
            return None
        block_end = found[i + 1].start() if i + 1 < len(found) else len(text)
        head = line[len(key.group(1)) + 1 :].split("#")[0].strip()
        out[key.group(1)] = (head, text[top.end() : block_end])
    before = text[: found[0].start()] if found else text
    if not _ignorable(before):
        return None
    return out


def read(text: str, source: str) -> build.State | None:
    if "\t" in text or "\r" in text or '"' in text or text.startswith("\ufeff"):
        return None
    sections = _sections(text)
    if sections is None:
        return None
    raw_nodes: Any = []
    pairs: list[tuple[str, str]] = []
    for key, (head, block) in sections.items():
        if head == "[]":
            if not _ignorable(block):
                return None
            continue
        if key == "nodes":
            items = _items(block.split("\n"))
            if items is None:
                return None
            raw_nodes = items
        else:
            found = _replicas(block)
            if found is None:
                return None
            pairs = found
    grouped: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    name_of = names.get
    intern = names.setdefault
    group_of = grouped.get
    for model, node in pairs:
        if not model or not node:
            return None
        node = name_of(node) or intern(node, node)
        group = group_of(model)
        if group is None:
            grouped[model] = [node]
        else:
            group.append(node)
    if rules.has_control(grouped) or rules.has_control(names):
        return None
    nodes, known, notices = build.build_nodes(raw_nodes, source, names, scalars_are_text=True)
    return build.finish(nodes, known, notices, grouped, iter(pairs), source)
