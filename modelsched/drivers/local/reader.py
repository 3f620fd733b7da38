"""The one entry point for reading a cluster state's bytes: format chosen once, here.

`read` gives the validated state for observe (the fast readers first, the general
ones for anything they do not take, so the result and every error message are the
general readers'); `document` gives the parsed document as well, for apply, which
rewrites it. Pure: no file access.
"""

from __future__ import annotations

from typing import Any

from modelsched.drivers.local import build, jsonstate, yamlfast, yamlstate


def read(data: bytes, source: str, fmt: str) -> build.State:
    if fmt == "json":
        return jsonstate.read(data, source)
    text = jsonstate.decode(data, source)
    fast = yamlfast.read(text, source)
    return fast if fast is not None else yamlstate.read(text, source)[1]


def document(data: bytes, source: str, fmt: str) -> tuple[dict[str, Any], build.State]:
    """The parsed document (by the general reader, whose dicts apply rewrites) and its state."""
    if fmt == "json":
        return jsonstate.read_exact(data, source)
    return yamlstate.read(jsonstate.decode(data, source), source)
