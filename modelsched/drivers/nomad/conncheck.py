"""Check Nomad connection values before any request: clear errors, never a secret echoed.

Owns what a usable address, token, namespace, region, timeout and TLS file set look
like. A bad value would otherwise surface as a misleading "unreachable" (an invalid
URL), a crash (a malformed IPv6 host, a missing CA file inside requests), a silent
downgrade (a client key without its certificate), a wildcard that reads every
namespace (`*`), or a secret in plan files and messages (credentials or a query in
NOMAD_ADDR). Takes plain values (no Connection: `connection` calls these), so it
imports nothing of the driver. Pure: no I/O but file existence checks.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from urllib.parse import urlsplit

from modelsched.drivers.address import check_url
from modelsched.errors import UsageError

# Nomad's own rule for namespace names (structs.validNamespaceName); `*` (all namespaces)
# is a list wildcard, never a place to register or purge jobs.
_NAMESPACE = re.compile(r"[a-zA-Z0-9-]{1,128}")
_REGION = re.compile(r"[A-Za-z0-9._-]{1,128}")
# An HTTP header value we can send as is: visible ASCII, no spaces (Nomad tokens are UUIDs).
_TOKEN = re.compile(r"[\x21-\x7e]+")
ADDRESS_SOURCE = "NOMAD_ADDR / --nomad-addr"


def check_address(address: str) -> None:
    """A usable http(s) URL with a host; raise UsageError naming NOMAD_ADDR otherwise."""
    check_url(address, system="Nomad", source=ADDRESS_SOURCE, secret_var="NOMAD_TOKEN")


def check_namespace(namespace: str | None) -> None:
    if namespace is not None and not _NAMESPACE.fullmatch(namespace):
        raise UsageError(
            f"Nomad namespace {namespace!r} (--nomad-namespace / NOMAD_NAMESPACE / the config's nomad.namespace) "
            "is not a Nomad namespace name (letters, digits and '-', at most 128; no '*' wildcard)"
        )


def check_region(region: str | None) -> None:
    if region is not None and not _REGION.fullmatch(region):
        raise UsageError(
            f"Nomad region {region!r} (--nomad-region / NOMAD_REGION / the config's nomad.region) "
            "is not a region name (letters, digits, '.', '_' and '-'; no '*' wildcard)"
        )


def check_token(token: str | None) -> None:
    if token and not _TOKEN.fullmatch(token):
        # Never echo the value: it is a secret, even when malformed.
        raise UsageError(
            "NOMAD_TOKEN contains whitespace, control or non-ASCII characters (a trailing newline from a "
            "file?); it cannot be sent as an HTTP header. Nothing was sent"
        )


def check_seconds(value: float, source: str, *, zero: bool = False) -> float:
    """A finite number of seconds, > 0 (>= 0 with `zero`): NaN, infinity and negatives are refused."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise UsageError(f"{source} must be a finite number of seconds (got {value})")
    if value < 0 or (value == 0 and not zero):
        bound = ">= 0" if zero else "> 0"
        raise UsageError(f"{source} must be a number of seconds {bound} (got {value:g})")
    return float(value)


def _file(path: str | None, source: str, *, directory: bool = False) -> None:
    if path is None:
        return
    p = Path(path)
    ok = p.is_dir() if directory else p.is_file()
    if not ok:
        kind = "directory" if directory else "file"
        raise UsageError(f"{source} {path}: no such {kind} (needed to talk TLS to Nomad)")


def check_tls(
    address: str,
    *,
    cacert: str | None,
    capath: str | None,
    client_cert: str | None,
    client_key: str | None,
    skip_verify: bool,
) -> None:
    """The TLS files exist and make a usable set (checked when a client is built)."""
    if client_key and not client_cert:
        raise UsageError(
            "NOMAD_CLIENT_KEY / --nomad-client-key is set but NOMAD_CLIENT_CERT / --nomad-client-cert is not: "
            "mutual TLS needs both"
        )
    if urlsplit(address).scheme != "https":
        return  # requests ignores TLS settings for http:// (so does Nomad's CLI)
    if not skip_verify:
        _file(cacert, "NOMAD_CACERT / --nomad-cacert")
        _file(capath, "NOMAD_CAPATH / --nomad-capath", directory=True)
    _file(client_cert, "NOMAD_CLIENT_CERT / --nomad-client-cert")
    _file(client_key, "NOMAD_CLIENT_KEY / --nomad-client-key")
