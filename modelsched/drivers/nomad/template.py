"""Job templates: load a Jinja2 template and render it (sandboxed, StrictUndefined) to a dict.

Owns template lookup (--job-template > config `nomad.job_template` > the packaged
default), reading the file within `MAX_TEMPLATE_BYTES` (`config.limits.read_limited`:
a device, FIFO or huge file is refused at once), the rendering context, and located
errors: every problem names the template file and line. Rendering runs in `sandbox`
(sandboxed, with a work budget per job). One environment per process, and each
template is compiled once (cached by name and source): rendering 1,000 jobs compiles
it once, not 1,000 times. It does not add placement fields nor validate the job (`jobspec`).
"""

from __future__ import annotations

import functools
import json
import sys
import traceback
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from modelsched.config.limits import MIB, InputRefused, decode_text, read_limited, size_text
from modelsched.drivers.nomad import sandbox
from modelsched.errors import ConfigError
from modelsched.model.entry import Entry

DEFAULT_TEMPLATE = "default.nomad.json.j2"
# A job template is one Nomad job with template code: the packaged one is ~2 KB.
MAX_TEMPLATE_BYTES = MIB


@dataclass(frozen=True)
class Template:
    """A loaded template: its display name (a path, or `<builtin default>`) and source."""

    name: str
    source: str


def load_template(path: str | None) -> Template:
    if path is None:
        ref = resources.files("modelsched.drivers.nomad").joinpath("templates", DEFAULT_TEMPLATE)
        return Template(f"<builtin {DEFAULT_TEMPLATE}>", ref.read_text(encoding="utf-8"))
    p = Path(path)
    try:
        return Template(str(p), decode_text(read_limited(path, MAX_TEMPLATE_BYTES)))
    except InputRefused as exc:
        raise ConfigError([
            f"job template {p}: cannot read it: {exc.reason} (a job template is a UTF-8 regular file of at most "
            f"{size_text(MAX_TEMPLATE_BYTES)})"
        ]) from None


class _JSONText(str):
    """Output of `tojson`: already JSON, written as is."""


def _finalize(value: Any) -> Any:
    """JSON autoescaping for `{{ ... }}`: a plain string is written JSON-escaped (without
    the quotes), so `"{{ model }}"` stays one JSON string whatever the model name holds
    (quotes, backslashes, newlines). `tojson` output and numbers are written as they are."""
    if isinstance(value, _JSONText) or not isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)[1:-1]


@functools.cache
def _environment() -> ImmutableSandboxedEnvironment:
    # Sandboxed, with a work budget (`sandbox`): a template cannot reach Python internals
    # nor run away; StrictUndefined: a typo in a variable name is an error, not "".
    env = sandbox.BudgetedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True, finalize=_finalize
    )

    def tojson(value: Any, indent: int | None = None) -> str:
        """JSON text for any value: strings become quoted, escaped data (no HTML escaping)."""
        if isinstance(value, jinja2.Undefined):  # StrictUndefined is not caught by json.dumps
            value._fail_with_undefined_error()
        return _JSONText(json.dumps(value, indent=indent, ensure_ascii=False, allow_nan=False))

    env.filters["tojson"] = tojson
    return env


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:  # json.loads would keep the last one silently; Nomad never sees the first
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (Nomad cannot read it)")


def _template_line(name: str) -> int | None:
    """The template line of the innermost frame that ran template code (Jinja rewrites
    tracebacks so template frames carry the template's file name and line)."""
    line = None
    for frame in traceback.extract_tb(sys.exc_info()[2]):
        if frame.filename == name:
            line = frame.lineno
    return line


def context(entry: Entry, job_id: str) -> dict[str, Any]:
    return {"model": entry.model_name, "job_id": job_id, "entry": entry.contract(), "vars": dict(entry.vars)}


@functools.lru_cache(maxsize=16)
def _compiled(name: str, source: str) -> jinja2.Template:
    """The template compiled once per (name, source); a syntax error is not cached."""
    compiled = _environment().from_string(source)
    compiled.filename = name  # tracebacks (and _template_line) name the template file
    return compiled


def render_template(template: Template, entry: Entry, job_id: str) -> dict[str, Any]:
    """Render one model's job body (a JSON object) from the template."""
    where = f"job template {template.name}"
    try:
        compiled = _compiled(template.name, template.source)
        budget = sandbox.start()
        parts = []
        for chunk in compiled.generate(context(entry, job_id)):
            budget.emit(chunk)
            parts.append(chunk)
        text = "".join(parts)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError([f"{where}:{exc.lineno}: syntax error: {exc.message}"]) from None
    except sandbox.BudgetExceeded as exc:
        line = _template_line(template.name)
        at = f":{line}" if line else ""
        raise ConfigError(
            [f"{where}{at}: stopped: {exc} (rendering model {entry.model_name!r}); simplify the template"]
        ) from None
    except jinja2.TemplateError as exc:
        line = _template_line(template.name)
        at = f":{line}" if line else ""
        raise ConfigError([f"{where}{at}: {exc} (rendering model {entry.model_name!r})"]) from None
    except Exception as exc:  # template code is user input: any failure is the template's (1 // 0, ...)
        line = _template_line(template.name)
        at = f":{line}" if line else ""
        problem = f"{where}{at}: {type(exc).__name__}: {exc} (rendering model {entry.model_name!r})"
        raise ConfigError([problem]) from None
    try:
        doc = json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [
                f"{where}: the output for model {entry.model_name!r} is not JSON "
                f"(rendered line {exc.lineno}, column {exc.colno}: {exc.msg}); use `| tojson` for values"
            ]
        ) from None
    except ValueError as exc:
        raise ConfigError([f"{where}: the output for model {entry.model_name!r}: {exc}"]) from None
    if not isinstance(doc, dict):
        raise ConfigError([f"{where}: the output for model {entry.model_name!r} must be a JSON object (a Nomad Job)"])
    if "Job" in doc and isinstance(doc["Job"], dict) and len(doc) == 1:
        doc = doc["Job"]  # accept the `{"Job": {...}}` wrapper Nomad's API uses
    return doc
