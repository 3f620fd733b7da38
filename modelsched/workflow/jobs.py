"""The render flow: each listed model's Nomad job, for review, without contacting Nomad."""

from __future__ import annotations

from typing import Any

from modelsched.workflow.request import Request, validate


def render_jobs(req: Request) -> list[tuple[str, dict[str, Any]]]:
    """Each listed model's Nomad job (job ID, job JSON), without contacting Nomad, in
    scheduler-chosen form with the planned count unknown (`count = min_replicas`)."""
    from modelsched.drivers.nomad import conncheck, jobspec
    from modelsched.drivers.nomad.prepare import placement_of
    from modelsched.drivers.nomad.template import load_template
    from modelsched.drivers.nomad.translate import job_id_for

    desired = validate(req)
    settings = desired.settings.nomad
    opts = req.nomad_opts
    template = load_template(opts.get("job_template") or settings.job_template)
    namespace = opts.get("nomad_namespace") or req.env.get("NOMAD_NAMESPACE") or settings.namespace
    region = opts.get("nomad_region") or req.env.get("NOMAD_REGION") or settings.region
    conncheck.check_namespace(namespace)  # they are written into every job: same rules as plan
    conncheck.check_region(region)
    docs: list[tuple[str, dict[str, Any]]] = []
    for entry in sorted(desired.entries, key=lambda e: e.model_name):
        job_id = job_id_for(settings.job_name_prefix, entry.model_name)
        params = jobspec.JobParams(
            job_id=job_id,
            namespace=namespace,
            region=region,
            datacenters=tuple(settings.datacenters),
            node_pool=settings.node_pool,
            placement=placement_of(entry, desired),
            count=entry.min_replicas,
            matching=entry.max_replicas,
        )
        docs.append((job_id, jobspec.build_job(entry, template, params)))
    return docs
