"""Reading a saved plan file from disk, within the size limit, into a validated `Plan`.

The file is untrusted input (a CI artifact): it is read with `config.limits` (a FIFO,
`/dev/zero` or a directory is refused at once, a file above MAX_PLAN_BYTES before it
is read) and validated whole by `model.plan.load_plan`. Raises PlanFileError.
"""

from __future__ import annotations

from modelsched.config.limits import MAX_PLAN_BYTES, InputRefused, decode_text, read_limited
from modelsched.errors import PlanFileError
from modelsched.model.base import escape
from modelsched.model.plan import Plan, load_plan


def read_plan(path: str, limit: int = MAX_PLAN_BYTES) -> Plan:
    """The validated plan in the file at `path`."""
    try:
        text = decode_text(read_limited(path, limit))
    except InputRefused as exc:
        reason = "not found" if exc.reason == "no such file" else f"cannot read: {exc.reason}"
        raise PlanFileError(f"plan file {escape(path)}: {reason}") from None
    return load_plan(text, escape(path))
