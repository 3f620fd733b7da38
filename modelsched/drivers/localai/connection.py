"""Where and how to reach a LocalAI frontend, and the checks made before any request.

Owns the connection settings (address, admin key, TLS, timeout) and what a usable value
looks like: a bad one would otherwise surface as a misleading "unreachable" (a bad URL),
a crash (a missing CA file inside requests), or a secret in plan files and messages
(credentials in the address). Never puts the key in a message or a repr. Pure: no I/O
but a file-existence check.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from modelsched.drivers.address import check_url
from modelsched.errors import UsageError

DEFAULT_ADDRESS = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 10.0
ADDRESS_SOURCE = "LOCALAI_ADDR / --localai-addr"
KEY_VAR = "LOCALAI_API_KEY"
# An HTTP header value we can send as is: visible ASCII, no spaces.
_KEY = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class Connection:
    """Where and how to reach LocalAI. `api_key` never leaves the driver in a message."""

    address: str = DEFAULT_ADDRESS
    api_key: str | None = None
    cacert: str | None = None
    skip_verify: bool = False
    timeout: float = DEFAULT_TIMEOUT

    def __repr__(self) -> str:  # keep the key out of reprs and tracebacks
        return f"Connection(address={self.address!r}, timeout={self.timeout!r})"

    def scrub(self, text: str) -> str:
        """`text` with the key removed (server text may echo it)."""
        if self.api_key:
            text = text.replace(self.api_key, "<redacted>")
        return text


def normalise_address(address: str) -> str:
    """`host:port` means http://host:port; a trailing slash is dropped."""
    address = address.strip()
    if "://" not in address:
        address = "http://" + address
    return address.rstrip("/")


def check_address(address: str, source: str = ADDRESS_SOURCE) -> None:
    """A usable http(s) URL with a host and nothing secret in it; UsageError naming `source` otherwise."""
    check_url(address, system="LocalAI", source=source, secret_var=KEY_VAR)


def check_key(key: str | None) -> None:
    if key and not _KEY.fullmatch(key):
        # Never echo the value: it is a secret, even when malformed.
        raise UsageError(
            f"{KEY_VAR} contains whitespace, control or non-ASCII characters (a trailing newline from a "
            "file?); it cannot be sent as an HTTP header. Nothing was sent"
        )


def check_timeout(timeout: float, source: str = "--localai-timeout") -> None:
    if not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(f"{source} must be a finite number of seconds > 0 (got {timeout})")


def check_connection(conn: Connection, *, files: bool = True) -> None:
    """Raise UsageError naming the first setting that cannot work."""
    check_address(conn.address)
    check_key(conn.api_key)
    check_timeout(conn.timeout)
    tls = urlsplit(conn.address).scheme == "https" and not conn.skip_verify
    if files and tls and conn.cacert and not Path(conn.cacert).is_file():
        raise UsageError(
            f"LOCALAI_CACERT / --localai-cacert {conn.cacert}: no such file (needed to talk TLS to LocalAI)"
        )
