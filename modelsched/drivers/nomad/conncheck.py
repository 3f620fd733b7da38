"""Check Nomad connection settings before any request: clear errors, never a secret echoed.

Owns what a usable address, token, namespace, region and TLS file set look like. A
bad value would otherwise surface as a misleading "unreachable" (an invalid URL), a
crash (a missing CA file is an OSError inside requests), a silent downgrade (a client
key without its certificate), a wildcard that reads every namespace (`*`), or a
secret in the plan file and messages (credentials in NOMAD_ADDR). Pure: no I/O but
file existence checks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from modelsched.errors import ModelschedError

if TYPE_CHECKING:
    from modelsched.drivers.nomad.client import Connection

# Nomad's own rule for namespace names (structs.validNamespaceName); `*` (all namespaces)
# is a list wildcard, never a place to register or purge jobs.
_NAMESPACE = re.compile(r"^[a-zA-Z0-9-]{1,128}$")
_REGION = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# An HTTP header value we can send as is: visible ASCII, no spaces (Nomad tokens are UUIDs).
_TOKEN = re.compile(r"^[\x21-\x7e]+$")
ADDRESS_SOURCE = "NOMAD_ADDR / --nomad-addr"


def _shown(address: str) -> str:
    """The address without any user info (it may hold a password)."""
    parts = urlsplit(address)
    if parts.username is None and parts.password is None:
        return address
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://<credentials>@{host}{parts.path}"


def check_address(address: str) -> None:
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:
        raise ModelschedError(
            f"Nomad address {_shown(address)!r} ({ADDRESS_SOURCE}) is not a valid URL (bad host or port)"
        ) from None
    shown = _shown(address)
    if parts.scheme not in ("http", "https"):
        raise ModelschedError(
            f"Nomad address {shown!r} ({ADDRESS_SOURCE}): the scheme must be http:// or https:// "
            f"(got {parts.scheme or 'none'}://; unix sockets are not supported)"
        )
    if not parts.hostname:
        raise ModelschedError(f"Nomad address {shown!r} ({ADDRESS_SOURCE}) has no host")
    if parts.username is not None or parts.password is not None:
        raise ModelschedError(
            f"Nomad address {shown!r} ({ADDRESS_SOURCE}) contains a user name or password: it would be "
            "printed and saved in plan files. Remove it; authenticate with NOMAD_TOKEN"
        )
    if parts.query or parts.fragment:
        raise ModelschedError(f"Nomad address {shown!r} ({ADDRESS_SOURCE}) must not have a query or fragment")
    if port == 0:
        raise ModelschedError(f"Nomad address {shown!r} ({ADDRESS_SOURCE}) has port 0")


def check_namespace(namespace: str | None) -> None:
    if namespace is not None and not _NAMESPACE.fullmatch(namespace):
        raise ModelschedError(
            f"Nomad namespace {namespace!r} (--nomad-namespace / NOMAD_NAMESPACE / the config's nomad.namespace) "
            "is not a Nomad namespace name (letters, digits and '-', at most 128; no '*' wildcard)"
        )


def check_region(region: str | None) -> None:
    if region is not None and not _REGION.fullmatch(region):
        raise ModelschedError(
            f"Nomad region {region!r} (--nomad-region / NOMAD_REGION / the config's nomad.region) "
            "is not a region name (letters, digits, '.', '_' and '-'; no '*' wildcard)"
        )


def check_token(token: str | None) -> None:
    if token and not _TOKEN.fullmatch(token):
        # Never echo the value: it is a secret, even when malformed.
        raise ModelschedError(
            "NOMAD_TOKEN contains whitespace, control or non-ASCII characters (a trailing newline from a "
            "file?); it cannot be sent as an HTTP header. Nothing was sent"
        )


def _file(path: str | None, source: str, *, directory: bool = False) -> None:
    if path is None:
        return
    p = Path(path)
    ok = p.is_dir() if directory else p.is_file()
    if not ok:
        kind = "directory" if directory else "file"
        raise ModelschedError(f"{source} {path}: no such {kind} (needed to talk TLS to Nomad)")


def check_values(conn: Connection) -> None:
    """The settings' values (no file checks): raise ModelschedError naming the first bad one."""
    check_address(conn.address)
    check_token(conn.token)
    check_namespace(conn.namespace)
    check_region(conn.region)


def check_connection(conn: Connection) -> None:
    """Raise ModelschedError naming the first setting that cannot work."""
    check_values(conn)
    if conn.client_key and not conn.client_cert:
        raise ModelschedError(
            "NOMAD_CLIENT_KEY / --nomad-client-key is set but NOMAD_CLIENT_CERT / --nomad-client-cert is not: "
            "mutual TLS needs both"
        )
    if urlsplit(conn.address).scheme != "https":
        return  # requests ignores TLS settings for http:// (so does Nomad's CLI)
    if not conn.skip_verify:
        _file(conn.cacert, "NOMAD_CACERT / --nomad-cacert")
        _file(conn.capath, "NOMAD_CAPATH / --nomad-capath", directory=True)
    _file(conn.client_cert, "NOMAD_CLIENT_CERT / --nomad-client-cert")
    _file(conn.client_key, "NOMAD_CLIENT_KEY / --nomad-client-key")
