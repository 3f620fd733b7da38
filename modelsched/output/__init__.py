"""Plan renderers: Terraform-like text, JSON (the contract), Markdown for pull-request
comments, and a self-contained HTML page with a node x model grid.

Pure string builders: the caller decides where to write. Colour is a parameter;
`use_colour()` applies the rules. Every format escapes data from the config, state
and cluster for its medium (`escape_text` is the terminal rule, for the CLI's own
messages too).
"""

from __future__ import annotations

from modelsched.model.plan import Plan, dump_plan
from modelsched.output.escape import escape_lines, escape_text
from modelsched.output.html import format_html
from modelsched.output.markdown import MAX_MARKDOWN_CHARS, format_markdown
from modelsched.output.terminal import use_colour
from modelsched.output.text import format_text
from modelsched.output.wording import labels_text

__all__ = [
    "FORMATS",
    "MAX_MARKDOWN_CHARS",
    "escape_lines",
    "escape_text",
    "format_html",
    "format_markdown",
    "format_plan",
    "format_text",
    "labels_text",
    "use_colour",
]

FORMATS = ("text", "json", "markdown", "html")


def format_plan(
    plan: Plan, fmt: str, colour: bool = False, *, max_chars: int = MAX_MARKDOWN_CHARS, full_plan_hint: str = ""
) -> str:
    """The plan in one format: text, json, markdown or html. `max_chars` bounds the
    Markdown (the per-node rows are cut to fit); `full_plan_hint` says where the full
    plan is (e.g. "the JSON plan artifact") in the line that reports the cut."""
    if fmt == "json":
        return dump_plan(plan)
    if fmt == "markdown":
        return format_markdown(plan, max_chars=max_chars, full_plan_hint=full_plan_hint)
    if fmt == "html":
        return format_html(plan)
    if fmt == "text":
        return format_text(plan, colour)
    raise ValueError(f"unknown plan format {fmt!r} (expected one of {', '.join(FORMATS)})")
