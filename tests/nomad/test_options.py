"""--nomad-* options, NOMAD_* environment and plan-file precedence; TLS defaults."""

from __future__ import annotations

from typing import Any

import click
import pytest
from click.testing import CliRunner

from modelsched.cli.nomad_options import NAMES, build_nomad_driver, connection, nomad_options
from modelsched.drivers.nomad import NomadDriver
from modelsched.drivers.nomad.client import NomadClient
from modelsched.errors import PlanFileError


def opts(**kw: Any) -> dict[str, Any]:
    return {**dict.fromkeys(NAMES), **kw}


def test_defaults() -> None:
    c = connection(opts(), env={})
    assert c.address == "http://127.0.0.1:4646" and c.token is None and not c.skip_verify
    assert c.namespace is None and c.region is None


def test_environment_like_nomads_cli() -> None:
    env = {
        "NOMAD_ADDR": "https://nomad.example:4646", "NOMAD_TOKEN": "t0k", "NOMAD_NAMESPACE": "ml",
        "NOMAD_REGION": "eu", "NOMAD_CACERT": "/ca.pem", "NOMAD_CLIENT_CERT": "/c.pem", "NOMAD_CLIENT_KEY": "/k.pem",
        "NOMAD_TLS_SERVER_NAME": "server.global.nomad", "NOMAD_SKIP_VERIFY": "true",
    }
    c = connection(opts(), env=env)
    assert (c.address, c.token, c.namespace, c.region) == ("https://nomad.example:4646", "t0k", "ml", "eu")
    assert (c.cacert, c.client_cert, c.client_key) == ("/ca.pem", "/c.pem", "/k.pem")
    assert c.tls_server_name == "server.global.nomad" and c.skip_verify
    assert "t0k" not in repr(c)


def test_explicit_option_beats_environment() -> None:
    c = connection(opts(nomad_addr="http://a:1", nomad_namespace="x"), env={"NOMAD_ADDR": "http://b:2"})
    assert c.address == "http://a:1" and c.namespace == "x"


def test_plan_file_beats_environment() -> None:
    cluster = {"address": "http://plan:4646", "region": "", "namespace": "ml"}
    c = connection(opts(), env={"NOMAD_ADDR": "http://env:4646", "NOMAD_NAMESPACE": "other"}, plan_cluster=cluster)
    assert c.address == "http://plan:4646" and c.namespace == "ml" and c.region is None


def test_explicit_option_contradicting_the_plan_file_names_both() -> None:
    cluster = {"address": "http://plan:4646", "region": "", "namespace": ""}
    with pytest.raises(PlanFileError, match=r"--nomad-addr http://other:4646 .*http://plan:4646"):
        connection(opts(nomad_addr="http://other:4646"), env={}, plan_cluster=cluster)
    assert connection(opts(nomad_addr="http://plan:4646"), env={}, plan_cluster=cluster).address == "http://plan:4646"


def test_tls_verification_is_on_unless_skip_verify() -> None:
    # python-nomad defaults verify=False: the client must override it.
    assert NomadClient(connection(opts(), env={}))._jobs.verify is True
    assert NomadClient(connection(opts(), env={"NOMAD_CACERT": "/ca.pem"}))._jobs.verify == "/ca.pem"
    assert NomadClient(connection(opts(nomad_skip_verify=True), env={}))._jobs.verify is False


def test_client_certificate_pair_is_passed() -> None:
    c = NomadClient(connection(opts(), env={"NOMAD_CLIENT_CERT": "/c", "NOMAD_CLIENT_KEY": "/k"}))
    assert c._job.cert == ("/c", "/k")


def test_process_environment_is_not_read_behind_our_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOMAD_TOKEN", "from-process-env")
    monkeypatch.setenv("NOMAD_ADDR", "http://process:4646")
    c = NomadClient(connection(opts(), env={}))
    assert c._job.token is None and c._job.address == "http://127.0.0.1:4646"


def test_driver_identity_never_contains_the_token() -> None:
    drv = build_nomad_driver(opts(), env={"NOMAD_TOKEN": "s3cret", "NOMAD_REGION": "eu"})
    assert isinstance(drv, NomadDriver) and drv.name == "nomad"
    assert drv.cluster() == {"address": "http://127.0.0.1:4646", "region": "eu", "namespace": ""}
    assert "s3cret" not in repr(drv.cluster())


def test_decorator_collects_options_into_one_keyword() -> None:
    seen: dict[str, Any] = {}

    @click.command()
    @nomad_options
    def cmd(nomad_opts: dict[str, Any]) -> None:
        seen.update(nomad_opts)

    result = CliRunner().invoke(cmd, ["--nomad-addr", "http://x:1", "--adopt", "--nomad-timeout", "2.5"])
    assert result.exit_code == 0, result.output
    assert seen["nomad_addr"] == "http://x:1" and seen["adopt"] is True and seen["nomad_timeout"] == 2.5
    assert seen["nomad_namespace"] is None and seen["nomad_skip_verify"] is None


def test_tls_server_name_is_used_for_https() -> None:
    from modelsched.drivers.nomad.client import _ServerNameAdapter

    env = {"NOMAD_TLS_SERVER_NAME": "server.global.nomad"}
    c = NomadClient(connection(opts(nomad_addr="https://10.0.0.1:4646"), env=env))
    adapter = c._job.session.get_adapter("https://10.0.0.1:4646/v1/jobs")
    assert isinstance(adapter, _ServerNameAdapter)
    assert adapter.poolmanager.connection_pool_kw["server_hostname"] == "server.global.nomad"
    assert adapter.poolmanager.connection_pool_kw["assert_hostname"] == "server.global.nomad"
