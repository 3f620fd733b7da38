"""Colour on a terminal: when to use it (`use_colour`) and how (`paint`).

Colour only on a TTY, never with `--no-color`, `NO_COLOR` (no-color.org: set to a
non-empty value) or `TERM=dumb` (a terminal that cannot show escapes). Must not
decide anything else about output.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO

import click


def use_colour(stream: IO[str], no_colour_flag: bool, env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    if no_colour_flag or env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, colour: str | None, on: bool, bold: bool = False) -> str:
    return click.style(text, fg=colour, bold=bold or None) if on else text
