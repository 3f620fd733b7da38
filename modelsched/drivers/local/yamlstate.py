"""Read any YAML cluster state: PyYAML's C BaseLoader (every scalar a string, as labels
must be), refusing duplicate keys, with alias expansion budgeted per document.

The general reader: `yamlfast` reads the layout modelsched writes, and this reads
everything else (and decides every error, so messages do not depend on which reader
tried first). Nesting depth is bounded by libyaml itself (a located error).
"""

from __future__ import annotations

from typing import Any

import yaml

from modelsched.drivers.local import build
from modelsched.errors import StateError

# Nodes an alias may stand for, summed over the document's aliases (each alias counts
# the size of what it names, aliases inside included). A state needs few or none; a
# "billion laughs" file needs billions.
ALIAS_BUDGET = 1_000_000

_BaseLoader: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
_Parser: Any = getattr(yaml, "CParser", None)


class StrictLoader(_BaseLoader):  # type: ignore[misc]
    """BaseLoader (all scalars are strings) that refuses duplicate mapping keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise StateError(f"duplicate key {key!r} at line {line} (first at line {seen[key]})")
            seen[key] = line
        return dict(super().construct_mapping(node, deep=deep))


def _check_aliases(text: str, source: str) -> None:
    """Refuse a document whose aliases stand for more than ALIAS_BUDGET nodes in all,
    from the event stream (nothing is built). Only runs when the text holds a `*`."""
    sizes: dict[str, int] = {}  # anchor -> nodes it stands for
    open_: list[tuple[str | None, int]] = []  # (anchor, total before the collection)
    total = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent):
            total += sizes.get(event.anchor or "", 1)
            if total > ALIAS_BUDGET:
                line = event.start_mark.line + 1 if event.start_mark is not None else 0
                raise StateError(
                    f"cluster state {source}: YAML aliases expand to more than {ALIAS_BUDGET} nodes "
                    f"(at line {line}); refusing to read it"
                )
        elif isinstance(event, yaml.ScalarEvent):
            total += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            open_.append((event.anchor, total))
            total += 1
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, before = open_.pop()
            if anchor:
                sizes[anchor] = total - before
        elif isinstance(event, yaml.DocumentStartEvent):
            sizes.clear()
            total = 0


def parse(text: str, source: str) -> dict[str, Any]:
    """The parsed document (a mapping with at most nodes and replicas), or a located StateError."""
    try:
        if "*" in text:
            _check_aliases(text, source)
        doc = yaml.load(text, Loader=StrictLoader)
    except StateError as exc:
        message = str(exc)
        if not message.startswith("cluster state "):
            message = f"cluster state {source}: {message}"
        raise StateError(message) from None
    except yaml.YAMLError as exc:
        raise StateError(f"cluster state {source}: invalid YAML: {exc}") from None
    except RecursionError:
        raise StateError(f"cluster state {source}: invalid YAML: nesting too deep to read") from None
    return build.check_root(doc, source)


def read(text: str, source: str) -> tuple[dict[str, Any], build.State]:
    doc = parse(text, source)
    return doc, build.build_state(doc, source, scalars_are_text=True)
