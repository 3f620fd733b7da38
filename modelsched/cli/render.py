"""`modelsched render`: write each model's Nomad job JSON for review; never touches a cluster.

It offers only the options it uses (namespace, region, job template): no address, TLS,
timeout or --adopt, since it never contacts Nomad.

The jobs come from the workflow's render flow (the Nomad driver's `review_jobs`:
scheduler-chosen form, planned count unknown); this module parses options and writes
them out.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from modelsched import workflow
from modelsched.cli.nomad_options import render_options
from modelsched.errors import ModelschedError


def _has_float(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is float:
            return True
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
    return False


def job_json(job: dict[str, Any]) -> str:
    """`{"Job": job}` as `json.dumps(indent=2, sort_keys=True)` writes it, byte for byte.

    orjson writes the same bytes 15x faster for ASCII text without floats (json writes
    non-ASCII as \\u escapes and floats with `repr`, e.g. `1e+16` where orjson writes
    `1e16`): anything else goes through json."""
    doc = {"Job": job}
    if not _has_float(job):
        try:
            text = orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # a lone surrogate, an integer beyond 64 bits
            pass
        else:
            if text.isascii():
                return text
    return json.dumps(doc, indent=2, sort_keys=True)


@click.command()
@click.option("--config", "config", metavar="PATH", help="Scheduling config (YAML or JSON; '-' for stdin).")
@click.option("--out-dir", "out_dir", metavar="DIR", help="Write <job-id>.json files here instead of stdout.")
@render_options
@click.option("--debug", is_flag=True, expose_value=False, help="Show a traceback on errors.")
def render(config: str | None, out_dir: str | None, nomad_opts: dict[str, Any]) -> None:
    """Render the Nomad job of every model (JSON) without contacting Nomad."""
    req = workflow.Request(env=os.environ, stdin=sys.stdin, config=config, nomad_opts=nomad_opts)
    docs = workflow.render_jobs(req)
    if out_dir is None:
        click.echo("\n".join(job_json(job) for _, job in docs))
        return
    target = Path(out_dir)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for job_id, job in docs:
            (target / f"{job_id}.json").write_text(job_json(job) + "\n")
    except OSError as exc:
        raise ModelschedError(f"cannot write rendered jobs to {target}: {exc.strerror or exc}") from None
    click.echo(f"Wrote {len(docs)} job file(s) to {target}.", err=True)
