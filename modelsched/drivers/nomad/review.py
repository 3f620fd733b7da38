"""Jobs for review without a cluster (`modelsched render`): every model's rendered job.

Renders in scheduler-chosen form with the planned count unknown, so a bounded job shows
`count = min_replicas` and a pinned job no node yet; `plan` renders the real jobs into
the plan file's driver data. The namespace and region follow the connection's
precedence (`connection.job_scope`). Never contacts Nomad; never prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelsched.drivers.nomad import jobspec
from modelsched.drivers.nomad.connection import job_scope
from modelsched.drivers.nomad.template import load_template
from modelsched.drivers.nomad.translate import job_id_for
from modelsched.model.entry import Desired


def review_jobs(
    desired: Desired,
    *,
    env: Mapping[str, str],
    namespace: str | None = None,
    region: str | None = None,
    job_template: str | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """(job ID, job) for every model, in model name order. `namespace`, `region` and
    `job_template` are the explicit options (None = not given)."""
    settings = desired.settings.nomad
    template = load_template(job_template or settings.job_template)
    # Written into every job: the same precedence and rules as plan's connection.
    ns, rg = job_scope(namespace, region, env=env, config=settings)
    docs: list[tuple[str, dict[str, Any]]] = []
    for entry in sorted(desired.entries, key=lambda e: e.model_name):
        job_id = job_id_for(settings.job_name_prefix, entry.model_name)
        params = jobspec.JobParams(
            job_id=job_id,
            namespace=ns,
            region=rg,
            datacenters=tuple(settings.datacenters),
            node_pool=settings.node_pool,
            placement=jobspec.placement_of(entry, desired),
            count=entry.min_replicas,
            matching=entry.max_replicas,
        )
        docs.append((job_id, jobspec.build_job(entry, template, params)))
    return docs
