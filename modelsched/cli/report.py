"""What apply did, in words (the terminal) and as JSON (`apply --report FILE`, for pipelines).

Both say, per model, what was applied, what failed and what was not attempted, with
the wait's last status (running, pending, the backend's placement failures) after a
timeout or Ctrl-C, and how to converge (re-run plan/apply). Pure builders plus the
printing; the report file is written through the workflow (atomically).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import click

from modelsched import GENERATOR
from modelsched.output.escape import escape_lines
from modelsched.workflow import Applied, ApplyReport, Change, ModelProgress, Plan

REPORT_VERSION = 1
CONVERGE = "Re-running modelsched plan and apply converges: they start from what the cluster runs now."
Result = Literal["applied", "failed", "not_attempted", "partial", "unknown"]


def _counts(changes: list[Change]) -> dict[str, int]:
    adds = sum(1 for c in changes if c.action == "add")
    return {"add": adds, "remove": len(changes) - adds}


def _who(c: Change) -> str:
    return f"{c.action} {escape_lines(c.model)} on {escape_lines(c.node)}"


def _model_result(applied: int, failed: int, not_attempted: int, unknown: bool) -> Result:
    if unknown:
        return "unknown"
    if failed:
        return "failed"
    if not_attempted:
        return "partial" if applied else "not_attempted"
    return "applied"


def report_data(applied: Applied | None, plan: Plan | None, error: str | None = None) -> dict[str, Any]:
    """The JSON report. `applied` is None when the flow stopped with `error` before applying."""
    report = applied.report if applied is not None else None
    plan = applied.plan if applied is not None else plan
    unknown = bool(applied and applied.unknown)
    done: dict[str, list[Change]] = {}
    failed: dict[str, list[tuple[Change, str]]] = {}
    skipped: dict[str, list[Change]] = {}
    if report is not None:
        for c in report.applied:
            done.setdefault(c.model, []).append(c)
        for c, why in report.failed:
            failed.setdefault(c.model, []).append((c, why))
        for c in report.not_attempted:
            skipped.setdefault(c.model, []).append(c)
    elif plan is not None and not unknown:
        for c in plan.changes:  # stopped before applying: every change is not attempted
            skipped.setdefault(c.model, []).append(c)
    status: dict[str, ModelProgress] = {}
    if report is not None and report.status is not None:
        status = {m.model: m for m in report.status.models}
    planned = {c.model for c in plan.changes} if plan is not None else set()
    models = []
    for model in sorted(planned | set(done) | set(failed) | set(skipped) | set(status)):
        row: dict[str, Any] = {
            "model": model,
            "result": _model_result(len(done.get(model, [])), len(failed.get(model, [])),
                                    len(skipped.get(model, [])), unknown),
            "applied": _counts(done.get(model, [])),
            "failed": _counts([c for c, _ in failed.get(model, [])]),
            "not_attempted": _counts(skipped.get(model, [])),
            "errors": sorted({why for _, why in failed.get(model, [])}),
        }
        if model in status:
            m = status[model]
            row["wait"] = {"running": m.running, "wanted": m.wanted, "pending": m.pending, "failed": m.failed,
                           "detail": m.detail}
        models.append(row)
    if error is not None:
        result = "error"
    elif applied is None or report is None:
        result = "cancelled" if applied is not None and applied.cancelled else "no_changes"
    elif report.interrupted:
        result = "interrupted"
    else:
        result = "applied" if report.ok else "incomplete"
    return {
        "format_version": REPORT_VERSION,
        "generator": GENERATOR,
        "driver": plan.driver if plan is not None else None,
        "cluster": plan.cluster if plan is not None else None,
        "result": result,
        "ok": result in ("applied", "no_changes"),
        "interrupted": bool(report and report.interrupted),
        "summary": {
            "applied": len(report.applied) if report else 0,
            "failed": len(report.failed) if report else 0,
            "not_attempted": (len(report.not_attempted) if report else
                              (len(plan.changes) if plan is not None and error is not None else 0)),
            "unknown": len(plan.changes) if unknown and plan is not None else 0,
        },
        "models": models,
        "errors": ([error] if error is not None else []) + (list(report.errors) if report else []),
        "messages": list(report.messages) if report else [],
    }


def report_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _per_model(report: ApplyReport) -> list[str]:
    done: dict[str, dict[str, list[str]]] = {}
    for c in report.applied:
        done.setdefault(c.model, {"add": [], "remove": []})[c.action].append(c.node)
    lines = []
    for model, acts in sorted(done.items()):
        parts = []
        if acts["add"]:
            parts.append("added on " + ", ".join(escape_lines(n) for n in sorted(acts["add"])))
        if acts["remove"]:
            parts.append("removed from " + ", ".join(escape_lines(n) for n in sorted(acts["remove"])))
        lines.append(f"  {escape_lines(model)}: " + "; ".join(parts))
    return lines


def _status_lines(report: ApplyReport) -> list[str]:
    if report.status is None:
        return []
    lines = [f"Last status after {int(report.status.elapsed)}s of waiting:"]
    for m in sorted(report.status.models, key=lambda m: m.model):
        line = f"  {escape_lines(m.model)}: {m.running}/{m.wanted} running, {m.pending} pending, {m.failed} failed"
        if m.detail:
            line += f": {escape_lines(m.detail)}"
        lines.append(line)
    return lines


def print_applied(applied: Applied) -> bool:
    """Print what apply did; True when everything was applied."""
    report = applied.report
    if report is None:
        click.echo("Apply cancelled." if applied.cancelled else "No changes. Nothing to apply.")
        return not applied.cancelled
    if applied.unknown:
        click.echo(
            "\nInterrupted while applying, before the driver could report what it had done: some changes may "
            "have been applied. Run modelsched plan to see where the cluster stands.",
            err=True,
        )
        click.echo(CONVERGE, err=True)
        return False
    for msg in report.messages:
        click.echo(escape_lines(msg))
    for line in _per_model(report):
        click.echo(line)
    added = sum(1 for c in report.applied if c.action == "add")
    removed = len(report.applied) - added
    if report.ok:
        click.echo(f"\nApply complete: {added} replica(s) added, {removed} removed.")
        return True
    head = "Apply interrupted" if report.interrupted else "Apply incomplete"
    click.echo(f"\n{head}: {added} replica(s) added, {removed} removed.", err=True)
    for change, why in report.failed:
        click.echo(f"  failed: {_who(change)}: {escape_lines(why)}", err=True)
    for change in report.not_attempted:
        click.echo(f"  not attempted: {_who(change)}", err=True)
    for err in report.errors:
        click.echo(f"  error: {escape_lines(err)}", err=True)
    for line in _status_lines(report):
        click.echo(line, err=True)
    click.echo(CONVERGE, err=True)
    return False
