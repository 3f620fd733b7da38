"""--nomad-* options, the one connection resolver's precedence, TLS defaults."""

from __future__ import annotations

import math
from typing import Any

import click
import pytest
from click.testing import CliRunner

from modelsched.cli.nomad_options import NAMES, RENDER_NAMES, Seconds, nomad_options
from modelsched.drivers.nomad import NomadDriver
from modelsched.drivers.nomad.build import build_nomad_driver, connection
from modelsched.drivers.nomad.client import NomadClient
from modelsched.drivers.nomad.connection import DEFAULT_TIMEOUT, Connection, Options, job_scope, resolve, with_config
from modelsched.drivers.transport import Adapter
from modelsched.errors import UsageError
from modelsched.model.entry import NomadSettings


def opts(**kw: Any) -> dict[str, Any]:
    return {**dict.fromkeys(NAMES), **kw}


def test_defaults() -> None:
    c = connection(opts(), env={})
    assert c.address == "http://127.0.0.1:4646" and c.token is None and not c.skip_verify
    assert c.namespace is None and c.region is None
    assert c.timeout == DEFAULT_TIMEOUT == Connection().timeout == 10.0


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


def test_host_and_port_without_a_scheme_mean_http_as_in_nomads_cli() -> None:
    assert connection(opts(nomad_addr="nomad.example:4646/"), env={}).address == "http://nomad.example:4646"


PLAN = {"address": "http://plan:4646", "region": "eu", "namespace": "planned"}
CONFIG = NomadSettings(namespace="from-config", region="config-region")
ENV = {"NOMAD_ADDR": "http://env:4646", "NOMAD_NAMESPACE": "from-env", "NOMAD_REGION": "env-region"}


@pytest.mark.parametrize(
    ("given", "env", "plan", "want"),
    [
        ({}, {}, None, ("http://127.0.0.1:4646", None, None)),
        ({}, {}, "config", ("http://127.0.0.1:4646", "from-config", "config-region")),
        ({}, ENV, "config", ("http://env:4646", "from-env", "env-region")),
        ({}, {**ENV, "NOMAD_ADDR": "plan:4646/"}, PLAN, ("http://plan:4646", "planned", "eu")),
        ({"nomad_namespace": "given", "nomad_region": "r1", "nomad_addr": "http://given:1"}, ENV, "config",
         ("http://given:1", "given", "r1")),
        ({"nomad_namespace": "planned"}, {**ENV, "NOMAD_ADDR": "http://plan:4646"}, PLAN,
         ("http://plan:4646", "planned", "eu")),
        ({}, {k: v for k, v in ENV.items() if k != "NOMAD_ADDR"},
         {"address": "http://plan:4646", "region": "", "namespace": ""}, ("http://plan:4646", None, None)),
    ],
    ids=[
        "nothing set: the defaults",
        "the config's nomad settings beat the defaults",
        "the environment beats the config",
        "the saved plan beats the environment (and the config); NOMAD_ADDR names it in another form",
        "an explicit option beats the environment and the config",
        "an explicit option equal to the saved plan's value is accepted",
        "a value the plan left unset stays unset whatever the environment says",
    ],
)
def test_precedence_option_plan_environment_config_default(
    given: dict[str, Any], env: dict[str, str], plan: Any, want: tuple[Any, ...]
) -> None:
    config = CONFIG if plan in ("config", PLAN) else None
    cluster = plan if isinstance(plan, dict) else None
    c = connection(opts(**given), env=env, plan_cluster=cluster, config=config)
    assert (c.address, c.namespace, c.region) == want


@pytest.mark.parametrize(
    ("given", "pattern"),
    [
        ({"nomad_addr": "http://other:4646"}, r"--nomad-addr http://other:4646 .*http://plan:4646"),
        ({"nomad_namespace": "other"}, r"--nomad-namespace other .*namespace planned"),
        ({"nomad_region": "us"}, r"--nomad-region us .*region eu"),
    ],
    ids=["address", "namespace", "region"],
)
def test_an_explicit_option_contradicting_the_saved_plan_is_a_usage_error_naming_both(
    given: dict[str, Any], pattern: str
) -> None:
    with pytest.raises(UsageError, match=pattern):
        connection(opts(**given), env={}, plan_cluster=PLAN)


@pytest.mark.parametrize(
    ("given", "env", "pattern"),
    [
        ({}, {"NOMAD_ADDR": "http://other:4646"}, r"NOMAD_ADDR http://other:4646 contradicts the plan file, which was "
         r"made for address http://plan:4646; nothing was applied"),
        ({}, {"NOMAD_ADDR": "http://other:4646", "NOMAD_TOKEN": "t0k"}, r"NOMAD_ADDR http://other:4646 contradicts"),
        ({}, {"NOMAD_TOKEN": "t0k"}, r"the plan file was made for Nomad at http://plan:4646, but neither NOMAD_ADDR "
         r"nor --nomad-addr is set: NOMAD_TOKEN is not sent to an address that only the plan file names\. Set "
         r"NOMAD_ADDR \(or --nomad-addr\) to http://plan:4646"),
        ({"nomad_addr": "http://other:4646"}, {"NOMAD_ADDR": "http://plan:4646"}, r"--nomad-addr http://other:4646"),
    ],
    ids=["NOMAD_ADDR naming another address is a usage error naming both",
         "with a token too", "a token and no address: the plan's address alone is refused",
         "--nomad-addr is checked before NOMAD_ADDR"],
)
def test_the_environment_never_loses_silently_to_the_plans_address(
    given: dict[str, Any], env: dict[str, str], pattern: str
) -> None:
    with pytest.raises(UsageError, match=pattern) as err:
        connection(opts(**given), env=env, plan_cluster=PLAN)
    assert "t0k" not in str(err.value)


@pytest.mark.parametrize(
    ("given", "env", "address"),
    [
        ({}, {}, "http://plan:4646"),
        ({}, {"NOMAD_TOKEN": "t0k", "NOMAD_ADDR": "http://plan:4646/"}, "http://plan:4646"),
        ({"nomad_addr": "plan:4646"}, {"NOMAD_TOKEN": "t0k"}, "http://plan:4646"),
    ],
    ids=["no token: the plan's address is used", "a token and NOMAD_ADDR equal to the plan's",
         "a token and --nomad-addr equal to the plan's (host:port form)"],
)
def test_the_plans_address_is_used_when_the_user_points_there_or_no_token_would_go(
    given: dict[str, Any], env: dict[str, str], address: str
) -> None:
    c = connection(opts(**given), env=env, plan_cluster=PLAN)
    assert c.address == address


def test_a_token_may_go_to_the_default_address_a_plan_made_without_nomad_addr_records() -> None:
    cluster = {"address": "http://127.0.0.1:4646", "region": "", "namespace": ""}
    c = connection(opts(), env={"NOMAD_TOKEN": "t0k"}, plan_cluster=cluster)
    assert (c.address, c.token) == ("http://127.0.0.1:4646", "t0k")


def test_a_contradicting_address_with_credentials_is_not_echoed() -> None:
    with pytest.raises(UsageError) as err:
        connection(opts(nomad_addr="http://u:hunter2@other:4646"), env={}, plan_cluster=PLAN)
    assert "hunter2" not in str(err.value)


def test_the_config_layer_alone_is_one_function_shared_by_driver_and_render() -> None:
    conn = Connection(namespace=None, region="given")
    done = with_config(conn, NomadSettings(namespace="cfg", region="cfg-region"))
    assert (done.namespace, done.region) == ("cfg", "given")
    assert with_config(conn, NomadSettings()) is conn
    assert job_scope(None, None, env={"NOMAD_REGION": "env"}, config=NomadSettings(namespace="cfg")) == ("cfg", "env")
    assert job_scope("opt", None, env={"NOMAD_NAMESPACE": "env"}, config=NomadSettings(namespace="cfg"))[0] == "opt"


def test_a_bad_namespace_from_the_config_is_refused_like_any_other() -> None:
    with pytest.raises(UsageError, match=r"namespace '\*'"):
        resolve(Options(), env={}, config=NomadSettings(namespace="*"))


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("2.5", 2.5), ("nan", None), ("inf", None), ("-inf", None), ("-1", None), ("0", None), ("x", None)],
    ids=["a number", "NaN", "infinity", "minus infinity", "negative", "zero", "not a number"],
)
def test_nomad_timeout_is_a_finite_positive_number_of_seconds(value: str, accepted: float | None) -> None:
    seen: dict[str, Any] = {}

    @click.command()
    @nomad_options
    def cmd(nomad_opts: dict[str, Any]) -> None:
        seen.update(nomad_opts)

    result = CliRunner().invoke(cmd, ["--nomad-timeout", value])
    if accepted is None:
        assert result.exit_code != 0 and "--nomad-timeout" in result.output, result.output
        assert "Traceback" not in result.output
    else:
        assert result.exit_code == 0 and seen["nomad_timeout"] == accepted


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, 0.0], ids=["NaN", "infinity", "negative", "zero"])
def test_the_resolver_refuses_a_timeout_that_is_not_finite_and_positive(value: float) -> None:
    with pytest.raises(UsageError, match=r"--nomad-timeout"):
        resolve(Options(timeout=value), env={})


@pytest.mark.parametrize("value", [math.nan, math.inf, -0.5], ids=["NaN", "infinity", "negative"])
def test_the_wait_timeout_refuses_nan_infinity_and_negatives(value: float) -> None:
    with pytest.raises(UsageError, match=r"--timeout"):
        build_nomad_driver(opts(), env={}, wait_timeout=value)
    assert Seconds(zero=True).convert("0", None, None) == 0.0


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


def test_a_driver_built_with_the_config_knows_its_cluster_before_observing() -> None:
    drv = build_nomad_driver(opts(), env={}, config=NomadSettings(namespace="ml"))
    assert drv.cluster()["namespace"] == "ml"


def test_the_driver_is_immutable() -> None:
    drv = build_nomad_driver(opts(), env={})
    with pytest.raises(AttributeError, match="immutable"):
        drv.conn = Connection(address="http://elsewhere:4646")  # type: ignore[attr-defined]


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
    assert sorted(seen) == sorted(NAMES)
    assert set(RENDER_NAMES) == {"nomad_namespace", "nomad_region", "job_template"}


def test_tls_server_name_is_used_for_https() -> None:
    env = {"NOMAD_TLS_SERVER_NAME": "server.global.nomad"}
    c = NomadClient(connection(opts(nomad_addr="https://10.0.0.1:4646"), env=env))
    adapter = c._job.session.get_adapter("https://10.0.0.1:4646/v1/jobs")
    assert isinstance(adapter, Adapter)
    assert adapter.poolmanager.connection_pool_kw["server_hostname"] == "server.global.nomad"
    assert adapter.poolmanager.connection_pool_kw["assert_hostname"] == "server.global.nomad"


def test_declaring_the_options_does_not_import_the_nomad_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, modelsched.cli.nomad_options\n"
        "print(sorted(m for m in ('nomad', 'requests', 'jinja2', 'deepdiff') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_configs_namespace_reaches_the_plan_file_and_its_apply(run: Any, nomad_sim: Any, tmp_path: Any) -> None:
    """Through the CLI: the config's nomad.namespace is the last layer before the default;
    the saved plan records it and `apply PLANFILE` registers there with no option given."""
    nomad_sim.add_namespace("ml")
    nomad_sim.add_node("gpu-1", meta={"tier": "gpu"})
    cfg = tmp_path / "s.yaml"
    cfg.write_text("nomad: {namespace: ml}\nmodels:\n  - {model_name: m, node_selector: {tier: gpu}, replicas: all}\n")
    out = tmp_path / "plan.json"
    env = {"NOMAD_ADDR": nomad_sim.address}
    got = run("plan", "--config", str(cfg), "--driver", "nomad", "--out", str(out), env=env)
    assert got.code == 0, got.err
    import json

    assert json.loads(out.read_text())["cluster"]["namespace"] == "ml"
    got = run("apply", str(out), "--no-wait", env=env)
    assert got.code == 0, got.out + got.err
    assert nomad_sim.job("modelsched-m", namespace="ml") is not None
    assert nomad_sim.job("modelsched-m") is None
    got = run("apply", str(out), "--nomad-namespace", "other", env=env)
    assert got.code == 1 and "--nomad-namespace other contradicts the plan file" in got.err


@pytest.mark.parametrize(
    "args",
    [["--nomad-timeout", "nan"], ["--nomad-timeout", "inf"], ["--nomad-timeout", "-1"], ["--timeout", "nan"],
     ["--timeout", "-inf"], ["--timeout", "-5"]],
    ids=["--nomad-timeout NaN", "--nomad-timeout infinity", "--nomad-timeout negative", "--timeout NaN",
         "--timeout minus infinity", "--timeout negative"],
)
def test_timeouts_that_are_not_finite_non_negative_seconds_are_one_line_errors(run: Any, args: list[str]) -> None:
    from tests.clirun import EXAMPLES

    got = run("apply", "--config", str(EXAMPLES / "localai-scheduling.yaml"), "--driver", "nomad",
              "--auto-approve", *args, env={"NOMAD_ADDR": "http://127.0.0.1:9"})
    assert got.code == 1 and args[0] in got.err, got.err
    assert "Traceback" not in got.err and "unreachable" not in got.err


def test_the_apply_wait_has_one_default_used_by_the_workflow_and_the_driver() -> None:
    from modelsched.drivers.nomad.build import DEFAULT_WAIT_TIMEOUT
    from modelsched.workflow.request import Request, build_driver

    assert DEFAULT_WAIT_TIMEOUT == 300.0
    built = build_driver("nomad", Request(env={}))
    assert isinstance(built, NomadDriver) and built.wait_timeout == DEFAULT_WAIT_TIMEOUT
    assert NomadDriver(Connection()).wait_timeout == DEFAULT_WAIT_TIMEOUT
    given = build_driver("nomad", Request(env={}, wait_timeout=7.0))
    assert isinstance(given, NomadDriver) and given.wait_timeout == 7.0


def test_the_workflow_builds_the_nomad_driver_without_the_cli() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom modelsched.workflow.request import Request, build_driver\n"
        "build_driver('nomad', Request(env={}))\n"
        "print(sorted(m for m in sys.modules if m.startswith('modelsched.cli')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
