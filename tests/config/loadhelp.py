"""Helpers for the loader tests: load text and get the problems, or the single entry."""

from __future__ import annotations

import pytest

from modelsched.config.load import Format, load_text
from modelsched.errors import ConfigError
from modelsched.model.entry import Desired, Entry


def problems(text: str, fmt: Format = "yaml", source: str | None = None) -> list[str]:
    """The problems loading `text` reports (the load must fail)."""
    with pytest.raises(ConfigError) as caught:
        load_text(text, source or f"s.{fmt}", fmt)
    return caught.value.problems


def load(text: str, fmt: Format = "yaml") -> Desired:
    return load_text(text, f"s.{fmt}", fmt)


def only_entry(text: str, fmt: Format = "yaml") -> Entry:
    entries = load(text, fmt).entries
    assert len(entries) == 1
    return entries[0]
