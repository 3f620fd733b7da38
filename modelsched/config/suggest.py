""" "Did you mean" for unknown keys: one close known key, or none."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known key the user most likely meant (case differences first, then spelling)."""
    choices = sorted(known)
    for choice in choices:
        if choice.lower() == word.lower():
            return choice
    by_lower = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def unknown_key(shown: str, word: str | None, known: Iterable[str]) -> str:
    """`unknown key "min_replica" (did you mean "min_replicas"?)`; `shown` is the key as written."""
    guess = closest(word, known) if word is not None else None
    message = f"unknown key {shown}"
    return f'{message} (did you mean "{guess}"?)' if guess else message
