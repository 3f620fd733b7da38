"""The Nomad job ID of a model: `job_name_prefix` + the model name made safe for a URL path.

python-nomad puts a job ID into the request path unescaped, so a job ID holds only
`[A-Za-z0-9._-]` and is never `.` or `..` (no `/`, `?`, `#`, `%`: nothing that could
reach another endpoint). Pure functions, shared by the config reader (which refuses
two models whose job IDs coincide) and the Nomad driver. No I/O.
"""

from __future__ import annotations

import hashlib
import re

DEFAULT_PREFIX = "modelsched-"
# What a job ID (and so a prefix) may hold. Use with fullmatch.
SAFE_JOB_ID = re.compile(r"[A-Za-z0-9._\-]+")
_SAFE_PREFIX = re.compile(r"[A-Za-z0-9._\-]*")
_UNSAFE = re.compile(r"[^A-Za-z0-9._\-]")


def prefix_problem(prefix: str) -> str | None:
    """Why `prefix` cannot start job IDs, or None."""
    if not _SAFE_PREFIX.fullmatch(prefix):
        return "use letters, digits, '.', '_' and '-' only"
    return None


def is_job_id(text: str) -> bool:
    """Whether `text` is safe as a job ID in a request path."""
    return bool(SAFE_JOB_ID.fullmatch(text)) and text.strip(".") != ""


def sanitise(model: str) -> str:
    """The model name as a job ID suffix: characters outside [A-Za-z0-9._-] become '-'.

    When anything was replaced, a short hash of the model name is appended so that two
    models never share a job by replacement alone (e.g. "a/b" and "a:b"); a model may
    still be named exactly like another's sanitised form, which the config refuses.
    """
    safe = _UNSAFE.sub("-", model)
    if safe != model:
        safe += "-" + _digest(model)
    return safe


def _digest(model: str) -> str:
    return hashlib.sha256(model.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def job_id(prefix: str, model: str) -> str:
    """The job ID for a model. Raises ValueError for an unsafe prefix (the config refuses it first)."""
    problem = prefix_problem(prefix)
    if problem is not None:
        raise ValueError(f"nomad.job_name_prefix {prefix!r}: {problem}")
    found = prefix + sanitise(model)
    if found.strip(".") == "":
        # Only dots ("." or ".." with an empty prefix): a path segment, not a name.
        found = "-" * len(found) + "-" + _digest(model)
    return found
