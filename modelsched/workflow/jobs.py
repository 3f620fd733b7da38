"""The render flow: each listed model's Nomad job, for review, without contacting Nomad.

The jobs are the Nomad driver's (`drivers.nomad.review.review_jobs`); this flow reads
the config and hands it the explicit options. The Nomad stack loads only here.
"""

from __future__ import annotations

from typing import Any

from modelsched.workflow.request import Request, validate


def render_jobs(req: Request) -> list[tuple[str, dict[str, Any]]]:
    """Each listed model's Nomad job (job ID, job JSON), in model name order, in
    scheduler-chosen form with the planned count unknown (`count = min_replicas`)."""
    from modelsched.drivers.nomad.review import review_jobs

    opts = req.nomad_opts
    return review_jobs(
        validate(req),
        env=req.env,
        namespace=opts.get("nomad_namespace"),
        region=opts.get("nomad_region"),
        job_template=opts.get("job_template"),
    )
