"""Where and how to reach Nomad: the `Connection`, and the one function that resolves it.

Precedence, for every setting, in this one place (DESIGN.md "CLI"):

1. an explicit option (`--nomad-addr`, `--nomad-namespace`, ...);
2. the saved plan's cluster, when a plan file is applied (address, region, namespace;
   an explicit option that contradicts it is an error naming both values, and so is a
   NOMAD_ADDR that names another address; with NOMAD_TOKEN set, an address that only
   the plan file names is refused: the token goes only where the user pointed it);
3. the NOMAD_* environment, as Nomad's own CLI reads it;
4. the config's `nomad:` settings (namespace and region only);
5. defaults: `http://127.0.0.1:4646`, no namespace or region (Nomad's `default` and the
   agent's region), a `DEFAULT_TIMEOUT` second per-request deadline.

The token only ever comes from NOMAD_TOKEN (a command-line token would land in shell
history and process listings). Values are checked by `conncheck`; TLS files when a
client is built. Light on purpose: the CLI imports it to declare its options, so it
must not import requests, python-nomad or the rest of the driver.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from modelsched.drivers.address import shown_address
from modelsched.drivers.nomad import conncheck
from modelsched.errors import UsageError
from modelsched.model.entry import NomadSettings

DEFAULT_ADDRESS = "http://127.0.0.1:4646"
# Seconds: a total deadline per request (connect, send, every byte of the answer).
DEFAULT_TIMEOUT = 10.0
_TRUE = {"1", "true", "yes", "on", "t"}


@dataclass(frozen=True)
class Connection:
    """Where and how to reach Nomad. `token` never appears in a repr or a message."""

    address: str = DEFAULT_ADDRESS
    token: str | None = None
    namespace: str | None = None
    region: str | None = None
    cacert: str | None = None
    capath: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    tls_server_name: str | None = None
    skip_verify: bool = False
    timeout: float = DEFAULT_TIMEOUT

    def __repr__(self) -> str:  # keep the token out of reprs and tracebacks
        return f"Connection(address={self.address!r}, namespace={self.namespace!r}, region={self.region!r})"

    def identity(self) -> dict[str, str]:
        """What a plan file records as its cluster (never the token)."""
        return {"address": self.address, "region": self.region or "", "namespace": self.namespace or ""}

    def check(self) -> None:
        """The values (not the TLS files): raise UsageError naming the first bad one."""
        conncheck.check_address(self.address)
        conncheck.check_token(self.token)
        conncheck.check_namespace(self.namespace)
        conncheck.check_region(self.region)
        conncheck.check_seconds(self.timeout, "--nomad-timeout")

    def check_files(self) -> None:
        conncheck.check_tls(
            self.address, cacert=self.cacert, capath=self.capath, client_cert=self.client_cert,
            client_key=self.client_key, skip_verify=self.skip_verify,
        )


@dataclass(frozen=True)
class Options:
    """The explicit `--nomad-*` options (None = not given)."""

    address: str | None = None
    namespace: str | None = None
    region: str | None = None
    cacert: str | None = None
    capath: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    tls_server_name: str | None = None
    skip_verify: bool | None = None
    timeout: float | None = None


# Option field -> (plan file `cluster` key or None, environment variable, flag).
_SOURCES: dict[str, tuple[str | None, str, str]] = {
    "address": ("address", "NOMAD_ADDR", "--nomad-addr"),
    "namespace": ("namespace", "NOMAD_NAMESPACE", "--nomad-namespace"),
    "region": ("region", "NOMAD_REGION", "--nomad-region"),
    "cacert": (None, "NOMAD_CACERT", "--nomad-cacert"),
    "capath": (None, "NOMAD_CAPATH", "--nomad-capath"),
    "client_cert": (None, "NOMAD_CLIENT_CERT", "--nomad-client-cert"),
    "client_key": (None, "NOMAD_CLIENT_KEY", "--nomad-client-key"),
    "tls_server_name": (None, "NOMAD_TLS_SERVER_NAME", "--nomad-tls-server-name"),
}


def _shown(address: str) -> str:
    """An address as a message may show it: no credentials, no control characters."""
    return repr(shown_address(address))[1:-1]


def _plan_address(explicit: str | None, env: Mapping[str, str], recorded: str) -> str:
    """The address for a saved plan. The plan file is untrusted (a CI artifact): its
    address is used only where the user's own settings lead to it too, so NOMAD_TOKEN
    never goes to an address that only the plan file names."""
    for value, source in ((explicit, "--nomad-addr"), (env.get("NOMAD_ADDR") or None, "NOMAD_ADDR")):
        if value is None:
            continue
        if _address(value) != _address(recorded):
            raise UsageError(
                f"{source} {_shown(_address(value))} contradicts the plan file, which was made for address "
                f"{_shown(recorded) or '(unset)'}; nothing was applied"
            )
        return recorded
    if env.get("NOMAD_TOKEN") and _address(recorded) != DEFAULT_ADDRESS:
        raise UsageError(
            f"the plan file was made for Nomad at {_shown(recorded)}, but neither NOMAD_ADDR nor --nomad-addr "
            "is set: NOMAD_TOKEN is not sent to an address that only the plan file names. Set NOMAD_ADDR "
            f"(or --nomad-addr) to {_shown(recorded)} to apply it; nothing was applied"
        )
    return recorded


def _pick(
    name: str, explicit: str | None, env: Mapping[str, str], plan_cluster: Mapping[str, str] | None,
    config: str | None,
) -> str | None:
    key, var, flag = _SOURCES[name]
    if key is not None and plan_cluster is not None:
        recorded = str(plan_cluster.get(key) or "")
        if name == "address":
            return _plan_address(explicit, env, recorded) or None
        if explicit is not None and explicit != recorded:
            raise UsageError(
                f"{flag} {explicit} contradicts the plan file, which was made for {key} {recorded or '(unset)'}; "
                "nothing was applied"
            )
        # The plan was made for exactly this cluster: an unset value stays unset
        # (the environment must not move a saved plan to another namespace).
        return recorded or None
    if explicit is not None:
        return explicit
    return env.get(var) or config or None


def _address(value: str | None) -> str:
    address = value or DEFAULT_ADDRESS
    if "://" not in address:
        address = "http://" + address  # Nomad's CLI accepts host:port too
    return address.rstrip("/")


def resolve(
    options: Options,
    *,
    env: Mapping[str, str],
    plan_cluster: Mapping[str, str] | None = None,
    config: NomadSettings | None = None,
) -> Connection:
    """The connection to use, by the precedence in the module docstring; values checked."""
    config = config or NomadSettings()

    def pick(name: str, from_config: str | None = None) -> str | None:
        value = getattr(options, name)
        return _pick(name, None if value is None else str(value), env, plan_cluster, from_config)

    skip = options.skip_verify
    if skip is None:
        skip = env.get("NOMAD_SKIP_VERIFY", "").strip().lower() in _TRUE
    timeout = DEFAULT_TIMEOUT
    if options.timeout is not None:
        timeout = conncheck.check_seconds(options.timeout, "--nomad-timeout")
    address = pick("address")
    if address is not None and plan_cluster is None:
        conncheck.check_address(_address(address))  # before it is echoed anywhere
    conn = Connection(
        address=_address(address),
        token=env.get("NOMAD_TOKEN") or None,
        namespace=pick("namespace", config.namespace),
        region=pick("region", config.region),
        cacert=pick("cacert"),
        capath=pick("capath"),
        client_cert=pick("client_cert"),
        client_key=pick("client_key"),
        tls_server_name=pick("tls_server_name"),
        skip_verify=bool(skip),
        timeout=timeout,
    )
    conn.check()
    return conn


def with_config(conn: Connection, config: NomadSettings) -> Connection:
    """`conn` completed by the config's `nomad:` settings where nothing above them set a
    value (layer 4 of the precedence, for a connection resolved without the config)."""
    namespace = conn.namespace or config.namespace
    region = conn.region or config.region
    if (namespace, region) == (conn.namespace, conn.region):
        return conn
    done = dataclasses.replace(conn, namespace=namespace, region=region)
    done.check()
    return done


def job_scope(
    namespace: str | None, region: str | None, *, env: Mapping[str, str], config: NomadSettings
) -> tuple[str | None, str | None]:
    """Namespace and region written into rendered jobs (`render`: no cluster, no plan file),
    by the same precedence as a connection."""
    ns = _pick("namespace", namespace, env, None, config.namespace)
    rg = _pick("region", region, env, None, config.region)
    conncheck.check_namespace(ns)
    conncheck.check_region(rg)
    return ns, rg
