"""`modelsched render`: write each model's Nomad job JSON for review; never touches a cluster.

It offers only the options it uses (namespace, region, job template): no address, TLS,
timeout or --adopt, since it never contacts Nomad.

Renders in scheduler-chosen form with the planned count unknown, so a bounded job
shows `count = min_replicas` (pinned jobs show no node yet); `plan` renders the real
jobs into the plan file's driver data.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from modelsched.cli.nomad_options import render_options
from modelsched.config.load import load_desired
from modelsched.drivers.nomad import jobspec
from modelsched.drivers.nomad.connection import job_scope
from modelsched.drivers.nomad.template import load_template
from modelsched.drivers.nomad.translate import job_id_for
from modelsched.errors import ModelschedError


@click.command()
@click.option("--config", "config", metavar="PATH", help="Scheduling config (YAML or JSON; '-' for stdin).")
@click.option("--out-dir", "out_dir", metavar="DIR", help="Write <job-id>.json files here instead of stdout.")
@render_options
@click.option("--debug", is_flag=True, expose_value=False, help="Show a traceback on errors.")
def render(config: str | None, out_dir: str | None, nomad_opts: dict[str, Any]) -> None:
    """Render the Nomad job of every model (JSON) without contacting Nomad."""
    env = os.environ
    desired = load_desired(config, env, sys.stdin)
    settings = desired.settings.nomad
    template = load_template(nomad_opts.get("job_template") or settings.job_template)
    # Written into every job: the same precedence and rules as plan's connection.
    namespace, region = job_scope(
        nomad_opts.get("nomad_namespace"), nomad_opts.get("nomad_region"), env=env, config=settings
    )
    docs: list[tuple[str, dict[str, Any]]] = []
    for entry in sorted(desired.entries, key=lambda e: e.model_name):
        job_id = job_id_for(settings.job_name_prefix, entry.model_name)
        params = jobspec.JobParams(
            job_id=job_id,
            namespace=namespace,
            region=region,
            datacenters=tuple(settings.datacenters),
            node_pool=settings.node_pool,
            placement=entry.placement or settings.placement,
            count=entry.min_replicas,
            matching=entry.max_replicas,
        )
        docs.append((job_id, jobspec.build_job(entry, template, params)))
    if out_dir is None:
        for _, job in docs:
            click.echo(json.dumps({"Job": job}, indent=2, sort_keys=True))
        return
    target = Path(out_dir)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for job_id, job in docs:
            (target / f"{job_id}.json").write_text(json.dumps({"Job": job}, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise ModelschedError(f"cannot write rendered jobs to {target}: {exc.strerror or exc}") from None
    click.echo(f"Wrote {len(docs)} job file(s) to {target}.", err=True)
