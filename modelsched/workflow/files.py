"""The files the flows read and write: plan files and reports, never over an input.

An output (`plan --out`, `apply --report`) is refused when it is the state file, the
config, the plan being applied, a link to one of them, or any existing file that
modelsched did not write. Writes are atomic (temp file + rename).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from modelsched.config.load import ENV_PAIRS
from modelsched.config.planfile import read_plan
from modelsched.errors import ModelschedError, UsageError
from modelsched.model.plan import Plan
from modelsched.workflow.request import Request, state_path


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # hard links
    except OSError:
        return False


def inputs_of(
    req: Request, cluster: Mapping[str, str] | None, config_sources: tuple[str, ...]
) -> list[tuple[str, Path]]:
    """The files an output must never replace: the state file (the one the options and
    the environment name, and the plan's), the config files (named or from the environment)."""
    out: list[tuple[str, Path]] = [("the cluster state file", state_path(req.state, req.env))]
    if cluster is not None and "state" in cluster:
        out.append(("the cluster state file", Path(cluster["state"])))
    sources = [*config_sources, req.config or "", *(req.env.get(path_var, "") for _, path_var in ENV_PAIRS)]
    for source in sources:
        if source.strip() and source != "-" and not source.startswith(("env ", "<")):
            out.append(("the scheduling config", Path(source)))
    return out


def check_report_path(req: Request, path: str, plan: Plan | None = None, planfile: str | None = None) -> None:
    """Refuse a report path that is an input of this run (or a link to one)."""
    protected = inputs_of(req, plan.cluster if plan is not None else None, ())
    if planfile is not None:
        protected.append(("the plan file", Path(planfile)))
    check_output_path("--report", path, protected)


def _ours(path: Path) -> bool:
    """An existing file this tool wrote (a plan or an apply report: both open with these keys)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(256)
    except OSError:
        return False
    return not head.strip() or (b'"format_version"' in head and b'"generator": "modelsched' in head)


def check_output_path(option: str, path: str, protected: list[tuple[str, Path]]) -> None:
    """Refuse to write an output over an input (the state file, the config, a plan), a link
    to one, or any existing file that is not a plan or report this tool wrote."""
    for what, other in protected:
        if _same_file(Path(path), other):
            raise UsageError(f"{option} {path} is {what} ({other}); choose another path. Nothing was written")
    target = Path(path)
    if target.is_file() and not _ours(target):
        raise UsageError(
            f"{option} {path} exists and is not a file modelsched wrote; remove it or choose another path. "
            "Nothing was written"
        )


def write_file(path: str, text: str, what: str) -> None:
    """Write atomically (temp file + rename): a reader never sees half a file."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent if str(target.parent) else ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise ModelschedError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


def read_plan_file(path: str) -> Plan:
    """The saved plan, read with a size bound (no FIFO, no device) and validated whole."""
    return read_plan(path)


