"""`POST /v1/allocation/:id/stop` through the client's request path and error mapping.

Nomad keeps an allocation while its job is unchanged (NOMAD.md "An existing allocation
stays"); stopping exactly that allocation is how apply moves it. Nomad sets the
allocation's desired transition to migrate (nomad/alloc_endpoint.go `Alloc.Stop`): a
service job places a replacement on a node that qualifies, a system job places none on a
node that no longer qualifies. python-nomad has it as `Allocation.stop_allocation`.

Uses the client's `stop_allocation` when it has one; otherwise the client's own request
path (its python-nomad allocations endpoint, re-pointed at `allocation/`) and its
`_call`, so the error mapping, token scrubbing and request count stay the client's.
No decisions here.
"""

from __future__ import annotations

import copy
from typing import Any

from modelsched.drivers.nomad.client import NomadClient
from modelsched.drivers.nomad.jobops import PLAIN_ID
from modelsched.errors import DriverError


def stop_allocation(client: NomadClient, alloc_id: str) -> dict[str, Any]:
    if not PLAIN_ID.fullmatch(alloc_id):  # it goes into the URL path
        raise DriverError(f"refusing to stop allocation {alloc_id!r}: not a Nomad allocation ID")
    own = getattr(client, "stop_allocation", None)
    if callable(own):
        got = own(alloc_id)
        return got if isinstance(got, dict) else {}
    endpoint = copy.copy(client._allocations)
    endpoint.ENDPOINT = "allocation"
    got = client._call(
        f"stopping allocation {alloc_id}",
        lambda: endpoint.request(alloc_id, "stop", method="post"),
        write=True,
    )
    return got if isinstance(got, dict) else {}
