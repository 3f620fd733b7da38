"""The one entry point for reading a cluster state's bytes: the format is chosen once, here.

Observe wants the validated state only: the fast readers go first (msgspec's typed
decoding for JSON, the layout reader for YAML), the general ones take anything they do
not, so the result and every error message are the general readers'. Apply also wants
the parsed document (`document=True`), which it rewrites: the general readers give it.
Pure: no file access.
"""

from __future__ import annotations

from typing import Any

from modelsched.drivers.local import build, jsonstate, yamlfast, yamlstate


def read(data: bytes, source: str, fmt: str, *, document: bool = False) -> tuple[dict[str, Any] | None, build.State]:
    """(the parsed document when `document`, else None; the validated state)."""
    if fmt == "json":
        return jsonstate.read_exact(data, source) if document else (None, jsonstate.read(data, source))
    text = build.decode(data, source)
    fast = None if document else yamlfast.read(text, source)
    return (None, fast) if fast is not None else yamlstate.read(text, source)
