"""What a cluster address may be, and how it may be shown: shared by the drivers.

Not a driver itself (both drivers import it). An address is printed in messages and
saved in plan files, so it must hold no secret: an `@` (user info, where a password
may hide `/`, `#` or `?` from any URL parser) is refused before any parsing and never
shown, and a query or fragment is never shown. Pure: no I/O.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from modelsched.errors import UsageError


def shown_address(address: str) -> str:
    """The address as it may be printed: never user info, never a query or fragment (they
    may hold a token). Never raises, whatever the text."""
    if "@" in address:
        return "<an address with '@' (not shown: it may hold a password)>"
    cut = min((i for i in (address.find("?"), address.find("#")) if i >= 0), default=len(address))
    return address[:cut]


def check_url(address: str, *, system: str, source: str, secret_var: str) -> None:
    """A usable http(s) URL with a host and nothing secret in it; UsageError naming the
    `system` ("Nomad"), where the value came from (`source`) and the variable that holds
    the credential instead (`secret_var`) otherwise."""
    if "@" in address:
        raise UsageError(
            f"{system} address ({source}) contains '@', i.e. a user name or password: it would be printed "
            f"and saved in plan files, so it is not shown here. Remove it; authenticate with {secret_var}"
        )
    shown = shown_address(address)
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in address):
        raise UsageError(f"{system} address {shown!r} ({source}) contains spaces or control characters")
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:  # "http://[::1", "http://host:port"
        raise UsageError(f"{system} address {shown!r} ({source}) is not a valid URL (malformed host or port)") from None
    if parts.scheme not in ("http", "https"):
        raise UsageError(
            f"{system} address {shown!r} ({source}): the scheme must be http:// or https:// "
            f"(got {parts.scheme or 'none'}://; unix sockets are not supported)"
        )
    if not parts.hostname:
        raise UsageError(f"{system} address {shown!r} ({source}) has no host")
    if parts.query or parts.fragment or "?" in address or "#" in address:
        raise UsageError(f"{system} address {shown!r} ({source}) must not have a query or fragment (not shown)")
    if port == 0:
        raise UsageError(f"{system} address {shown!r} ({source}) has port 0")
