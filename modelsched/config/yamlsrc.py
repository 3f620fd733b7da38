"""YAML text -> located tree (`config.tree`), refusing what PyYAML silently accepts.

Built on `yaml.compose` (libyaml's composer when available), so every key and value
keeps its line. Scalars are resolved with PyYAML's SafeConstructor (`2` is an int,
`all` a string) and keep their raw text (node selectors read `tier: 1` as "1").
Anchors, aliases and merge keys (`<<`) work; duplicate keys are reported naming both
lines (the first value is kept); several documents, unknown tags and recursive
aliases are errors. Bounded (`config.limits`): nesting deeper than MAX_DEPTH and
integers longer than MAX_INT_DIGITS are located errors (alias expansion is bounded
per document where values are expanded: `tree.plain`). Syntax errors raise
ConfigError with the parser's line/column. No validation of the scheduling schema here.
"""

from __future__ import annotations

from typing import Any

import yaml

from modelsched.config.limits import MAX_DEPTH, MAX_INT_DIGITS
from modelsched.config.tree import Located, Map, Scalar, Seq, key_text
from modelsched.errors import ConfigError

_Loader: Any = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"
_STR_TAG = "tag:yaml.org,2002:str"


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _identity(key: Scalar) -> tuple[str, Any]:
    # `1` and `true` are different YAML keys even though 1 == True in Python.
    return type(key.value).__name__, key.value


class _Converter:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []
        self._constructor = yaml.constructor.SafeConstructor()
        self._done: dict[int, Located] = {}
        self._active: set[int] = set()
        self._depth = 0

    def problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(f"{self.source}:{_line(node)}: {message}")

    def convert(self, node: yaml.Node) -> Located:
        if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):  # most nodes: no bookkeeping needed
            return Scalar(node.value, node.start_mark.line + 1, node.value)
        key = id(node)
        if key in self._done:  # an alias: the same node again
            return self._done[key]
        if key in self._active:
            self.problem(node, "recursive YAML alias")
            return Scalar(None, _line(node))
        if self._depth >= MAX_DEPTH and not isinstance(node, yaml.ScalarNode):
            self.problem(node, f"nested deeper than {MAX_DEPTH} levels")
            return Scalar(None, _line(node))
        self._active.add(key)
        self._depth += 1
        try:
            result = self._convert(node)
        finally:
            self._depth -= 1
            self._active.discard(key)
        self._done[key] = result
        return result

    def _convert(self, node: yaml.Node) -> Located:
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self.problem(node, f"unsupported YAML tag {node.tag}")
            return Seq([self.convert(item) for item in node.value], _line(node))
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                self.problem(node, f"unsupported YAML tag {node.tag}")
            return self.mapping(node)
        raise TypeError(f"unexpected YAML node {node!r}")  # pragma: no cover

    def scalar(self, node: yaml.ScalarNode) -> Scalar:
        if node.tag == _STR_TAG:  # most scalars: the constructor would return the text itself
            return Scalar(node.value, node.start_mark.line + 1, node.value)
        if node.tag == _INT_TAG and sum(ch.isalnum() for ch in str(node.value)) > MAX_INT_DIGITS:
            self.problem(node, f"integer too long (more than {MAX_INT_DIGITS} digits)")
            return Scalar(None, _line(node), str(node.value)[: MAX_INT_DIGITS + 2] + "...")
        try:
            value = self._constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            self.problem(node, f"unsupported YAML tag {node.tag}")
            value = str(node.value)  # reported; the text avoids follow-on errors
        except ValueError as exc:  # e.g. an out-of-range timestamp
            self.problem(node, f"invalid YAML value {node.value!r}: {exc}")
            value = None
        return Scalar(value, _line(node), str(node.value))

    def mapping(self, node: yaml.MappingNode) -> Map:
        pairs: list[tuple[Scalar, Located]] = []
        seen: dict[tuple[str, Any], int] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, "mapping keys must be scalars")
                continue
            key = self.scalar(key_node)
            first = seen.get(_identity(key))
            if first is not None:
                self.problem(key_node, f"duplicate key {key_text(key)} (first on line {first})")
                continue
            seen[_identity(key)] = _line(key_node)
            pairs.append((key, self.convert(value_node)))
        for merge in merges:
            for source in self.merge_sources(merge):
                for key, value in source.pairs:
                    if _identity(key) not in seen:  # explicit keys win, then earlier merges
                        seen[_identity(key)] = key.line or 0
                        pairs.append((key, value))
        return Map(pairs, _line(node))

    def merge_sources(self, node: yaml.Node) -> list[Map]:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        maps: list[Map] = []
        for item in items:
            converted = self.convert(item)
            if isinstance(converted, Map):
                maps.append(converted)
            else:
                self.problem(item, "a merge key (<<) needs a mapping or a list of mappings")
        return maps


def parse_error(source: str, exc: yaml.YAMLError) -> str:
    """A located one-line message for a YAML syntax error."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        parts = [p for p in (exc.context, exc.problem) if p]
        what = ", ".join(parts) or "syntax error"
        if mark is not None:
            return f"{source}:{mark.line + 1}:{mark.column + 1}: invalid YAML: {what}"
        return f"{source}: invalid YAML: {what}"
    return f"{source}: invalid YAML: {exc}"


def read_yaml(text: str, source: str) -> tuple[Located | None, list[str]]:
    """Parse one YAML document. Returns (tree or None when empty, problems).

    Raises ConfigError when the text is not YAML at all (syntax error, several documents).
    """
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ConfigError([parse_error(source, exc)]) from None
    if root is None:
        return None, []
    converter = _Converter(source)
    tree = converter.convert(root)
    if isinstance(tree, Scalar) and tree.value is None:  # a document that is just `~` / `null`
        return None, converter.problems
    return tree, converter.problems
