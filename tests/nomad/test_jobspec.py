"""Rendered jobs: modes, golden files, schema check, injection safety, template errors, diffs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from modelsched.drivers.nomad import jobdiff, jobspec
from modelsched.drivers.nomad.template import Template, load_template
from modelsched.errors import ConfigError
from modelsched.model.entry import Entry

GOLDEN = Path(__file__).parent / "golden"
NODE_A = "11111111-1111-4111-8111-111111111111"
NODE_B = "22222222-2222-4222-8222-222222222222"


def params(**kw: Any) -> jobspec.JobParams:
    base: dict[str, Any] = dict(
        job_id="modelsched-m", namespace=None, region=None, datacenters=("*",), node_pool=None,
        placement="scheduler", count=2, matching=3,
    )
    base.update(kw)
    return jobspec.JobParams(**base)


def build(entry: Entry, **kw: Any) -> dict[str, Any]:
    return jobspec.build_job(entry, load_template(None), params(**kw))


CASES: dict[str, tuple[Entry, dict[str, Any]]] = {
    "spread-scheduler": (Entry(model_name="gpt-oss", node_selector={"tier": "gpu"}, spread=True), {}),
    "bounded-scheduler": (
        Entry(model_name="whisper", node_selector={"tier": "cpu", "node.class": "small"}, min_replicas=1,
              max_replicas=3, vars={"image": "localai/localai:v2.20", "resources": {"cpu": 500, "memory_mb": 1024}}),
        {"count": 2},
    ),
    "bounded-unbounded-max": (Entry(model_name="bert", min_replicas=1), {"count": 1, "matching": 4}),
    "pinned": (
        Entry(model_name="llama", node_selector={"tier": "gpu"}, min_replicas=2, max_replicas=2,
              placement="pinned", vars={"resources": {"gpu": 1}}),
        {"placement": "pinned", "pinned_nodes": (NODE_B, NODE_A), "namespace": "ml", "region": "eu"},
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_job_matches_golden_file(name: str) -> None:
    entry, kw = CASES[name]
    job = build(entry, **{"job_id": "modelsched-" + entry.model_name, **kw})
    text = json.dumps({"Job": job}, indent=2, sort_keys=True) + "\n"
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"golden {path.name} differs; UPDATE_GOLDEN=1 to refresh after review"


def test_spread_is_a_system_job_with_one_constraint_per_selector_pair() -> None:
    job = build(Entry(model_name="m", node_selector={"tier": "gpu", "node.datacenter": "dc1"}, spread=True))
    assert job["Type"] == "system" and job["TaskGroups"][0]["Count"] == 1
    assert job["Constraints"] == [
        {"LTarget": "${node.datacenter}", "RTarget": "dc1", "Operand": "="},
        {"LTarget": "${meta.tier}", "RTarget": "gpu", "Operand": "="},
    ]
    assert "Scaling" not in job["TaskGroups"][0]


def test_bounded_is_a_service_job_with_count_distinct_hosts_and_scaling() -> None:
    job = build(Entry(model_name="m", min_replicas=1, max_replicas=5), count=3)
    group = job["TaskGroups"][0]
    assert job["Type"] == "service" and group["Count"] == 3
    assert group["Scaling"] == {"Min": 1, "Max": 5, "Enabled": True}
    assert {"LTarget": "", "RTarget": "true", "Operand": "distinct_hosts"} in group["Constraints"]


def test_min_above_what_fits_keeps_scaling_valid() -> None:
    job = build(Entry(model_name="m", min_replicas=5, max_replicas=8), count=2, matching=2)
    assert job["TaskGroups"][0]["Scaling"] == {"Min": 2, "Max": 8, "Enabled": True}


def test_pinned_is_a_system_job_restricted_to_the_planned_node_ids() -> None:
    job = build(Entry(model_name="m", min_replicas=1), placement="pinned", pinned_nodes=(NODE_B, NODE_A))
    assert job["Type"] == "system"
    assert job["Constraints"][-1] == {
        "LTarget": "${node.unique.id}", "RTarget": f"{NODE_A},{NODE_B}", "Operand": "set_contains_any"
    }


def test_pinned_with_no_node_has_no_pin_constraint_nomad_would_refuse() -> None:
    # An empty RTarget is refused by Nomad (Constraint.Validate); prepare purges such a job instead.
    job = build(Entry(model_name="m"), placement="pinned", pinned_nodes=())
    assert all(c["LTarget"] != "${node.unique.id}" for c in job.get("Constraints") or [])


@pytest.mark.parametrize(
    "entry",
    [
        Entry(model_name="m", spread=True),
        Entry(model_name="m", spread=True, vars={"image": "x"}),
        Entry(model_name="m", min_replicas=1, max_replicas=0),
        Entry(model_name="m", min_replicas=2, max_replicas=5, node_selector={"tier": "gpu"}),
    ],
    ids=["spread", "another image", "unbounded", "bounded with a selector"],
)
def test_meta_holds_only_ownership_values_that_never_change_for_a_model(entry: Entry) -> None:
    job = build(entry, count=2, matching=4)
    assert job["Meta"] == {"modelsched_managed": "true", "modelsched_model": "m"}
    pinned = build(entry, placement="pinned", pinned_nodes=(NODE_A,))
    assert pinned["Meta"] == job["Meta"]


def test_an_empty_selector_value_is_refused_before_nomad_sees_it() -> None:
    with pytest.raises(ConfigError, match="node_selector 'tier' has an empty value"):
        build(Entry(model_name="m", node_selector={"tier": ""}, spread=True))


@pytest.mark.parametrize(
    "model", ["foo-", "bar.", "-x", "UPPER_case.name", "a" * 120, "org/model:q4"],
)
def test_the_default_template_gives_an_rfc1123_service_name_for_any_model_name(model: str) -> None:
    from modelsched.drivers.nomad.jobschema import SERVICE_NAME
    from modelsched.drivers.nomad.translate import job_id_for

    job = build_job_for(model, job_id_for("modelsched-", model))
    [service] = job["TaskGroups"][0]["Services"]
    assert SERVICE_NAME.fullmatch(service["Name"]), service["Name"]


def build_job_for(model: str, job_id: str) -> dict[str, object]:
    return jobspec.build_job(Entry(model_name=model, spread=True), load_template(None),
                             jobspec.JobParams(job_id=job_id, namespace=None, region=None, datacenters=("*",),
                                               node_pool=None, placement="scheduler", count=1, matching=1))


def test_a_template_service_name_nomad_would_refuse_is_a_config_error() -> None:
    tpl = Template("svc.j2", '{"TaskGroups": [{"Name": "g", "Services": [{"Name": "bad-"}],'
                             ' "Tasks": [{"Name": "t", "Driver": "docker"}]}]}')
    with pytest.raises(ConfigError, match=r"svc\.j2.*Services\.0\.Name.*RFC 1123"):
        jobspec.build_job(Entry(model_name="m", spread=True), tpl, params())


def test_the_unbounded_scaling_max_follows_the_live_job_while_it_covers_the_count() -> None:
    entry = Entry(model_name="m", min_replicas=1, max_replicas=0)
    assert build(entry, count=2, matching=4)["TaskGroups"][0]["Scaling"]["Max"] == 4
    kept = jobspec.build_job(entry, load_template(None), params(count=2, matching=9, scaling_max=4))
    assert kept["TaskGroups"][0]["Scaling"]["Max"] == 4


@pytest.mark.parametrize(
    "entry",
    [
        Entry(model_name="m", node_selector={"tier": "${node.unique.id}"}, spread=True),
        Entry(model_name="m", node_selector={"ti}er": "gpu"}, spread=True),
        Entry(model_name="m", node_selector={"a b": "gpu"}, spread=True),
        Entry(model_name="${attr.kernel.name}", spread=True),
    ],
    ids=["interpolation in a value", "brace in a key", "space in a key", "interpolation in a model name"],
)
def test_label_data_can_never_become_nomad_syntax(entry: Entry) -> None:
    with pytest.raises(ConfigError):
        build(entry)


def test_values_with_quotes_stay_data() -> None:
    job = build(Entry(model_name='we"ird', node_selector={"tier": 'g"pu,x'}, spread=True))
    assert job["Constraints"][0]["RTarget"] == 'g"pu,x'
    assert job["TaskGroups"][0]["Tasks"][0]["Env"]["LOCALAI_MODEL"] == 'we"ird'


def test_unknown_field_from_a_template_is_rejected_naming_the_template() -> None:
    tpl = Template("my.j2", '{"TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "docker"}],'
                            ' "Constraint": []}]}')
    with pytest.raises(ConfigError, match=r"my\.j2.*TaskGroups\.0\.Constraint: unknown field"):
        jobspec.build_job(Entry(model_name="m", spread=True), tpl, params())


def test_template_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "t.nomad.json.j2"
    path.write_text('{\n"TaskGroups": [\n{{ vars.missing | tojson }}\n]}\n')
    with pytest.raises(ConfigError, match=r"t\.nomad\.json\.j2:3: .*missing"):
        jobspec.build_job(Entry(model_name="m", spread=True), load_template(str(path)), params())


def test_template_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.j2"
    path.write_text("{\n{% if %}\n}")
    with pytest.raises(ConfigError, match=r"bad\.j2:2: syntax error"):
        load_and_build(path)


def load_and_build(path: Path) -> None:
    jobspec.build_job(Entry(model_name="m", spread=True), load_template(str(path)), params())


def test_template_is_sandboxed(tmp_path: Path) -> None:
    path = tmp_path / "evil.j2"
    path.write_text("{{ vars.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ConfigError, match=r"evil\.j2"):
        load_and_build(path)


def test_missing_template_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_template(str(tmp_path / "nope.j2"))


def test_diff_ignores_server_defaults() -> None:
    job = build(Entry(model_name="m", min_replicas=1, max_replicas=3))
    running = json.loads(json.dumps(job))
    running.update({"Priority": 50, "Region": "global", "Status": "running", "JobModifyIndex": 7})
    running["TaskGroups"][0]["RestartPolicy"] = {"Attempts": 2}
    running["TaskGroups"][0]["Tasks"][0]["Resources"]["DiskMB"] = 0
    assert jobdiff.differs(job, running) == []
    running["TaskGroups"][0]["Count"] = 1
    assert jobdiff.differs(job, running) == ["root['TaskGroups'][0]['Count']"]


def test_a_stopped_job_always_differs() -> None:
    job = build(Entry(model_name="m", spread=True))
    assert jobdiff.differs(job, {**json.loads(json.dumps(job)), "Stop": True}) == ["root['Stop']"]


def test_a_selector_key_with_a_trailing_newline_is_not_a_safe_meta_key() -> None:
    # `$` in a Python regex also matches before a final newline: keys are matched whole.
    with pytest.raises(ConfigError, match="cannot be a Nomad meta key"):
        build(Entry(model_name="m", node_selector={"tier\n": "gpu"}, spread=True))


def test_a_node_id_with_a_trailing_newline_cannot_be_pinned() -> None:
    with pytest.raises(ConfigError, match="not a Nomad node ID"):
        build(Entry(model_name="m"), placement="pinned", pinned_nodes=(NODE_A + "\n",))


INJECT = '", "Priority": 99, "Meta": {"modelsched_model": "other"}, "x": "'


@pytest.mark.parametrize(
    "field",
    ["model", "vars.image", "entry.route_policy"],
)
def test_a_template_without_tojson_still_cannot_be_broken_out_of(field: str) -> None:
    """`"{{ x }}"` inside a JSON string: the value is JSON-escaped, so quotes stay data."""
    tpl = Template("plain.j2", '{"TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "docker",'
                               ' "Env": {"V": "{{ ' + field + ' }}"}}]}]}')
    entry = Entry(model_name="m" if field != "model" else "m" + INJECT, spread=True,
                  vars={"image": INJECT} if field == "vars.image" else {},
                  route_policy="round_robin")
    if field == "entry.route_policy":
        entry = entry.model_copy(update={"route_policy": INJECT})
    job = jobspec.build_job(entry, tpl, params())
    value = job["TaskGroups"][0]["Tasks"][0]["Env"]["V"]
    assert INJECT in value and "Priority" not in job
    assert job["Meta"]["modelsched_model"] == entry.model_name


def test_tojson_and_numbers_render_as_before() -> None:
    tpl = Template("t.j2", '{"TaskGroups": [{"Name": {{ model | tojson }}, "Tasks": [{"Name": "t-{{ model }}",'
                           ' "Driver": "docker", "Resources": {"CPU": {{ vars.cpu }}}}]}]}')
    job = jobspec.build_job(Entry(model_name='a"b', spread=True, vars={"cpu": 500}), tpl, params())
    group = job["TaskGroups"][0]
    assert group["Name"] == 'a"b' and group["Tasks"][0]["Name"] == 't-a"b'
    assert group["Tasks"][0]["Resources"]["CPU"] == 500


@pytest.mark.parametrize(
    ("source", "pattern"),
    [
        ('{\n"TaskGroups": {{ 1 // 0 }}\n}', r"bad\.j2:2: ZeroDivisionError"),
        ('{\n"TaskGroups": {{ 10 ** 400 * 1.0 }}\n}', r"bad\.j2:2: OverflowError"),
        ('{"TaskGroups": [], "TaskGroups": []}', r"bad\.j2: .*duplicate key 'TaskGroups'"),
        ('{"TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "d", "Config": {"x": NaN}}]}]}',
         r"bad\.j2: .*NaN"),
    ],
    ids=["division by zero", "overflow", "duplicate key", "NaN"],
)
def test_any_template_failure_is_a_located_config_error(tmp_path: Path, source: str, pattern: str) -> None:
    path = tmp_path / "bad.j2"
    path.write_text(source)
    with pytest.raises(ConfigError, match=pattern):
        load_and_build(path)


@pytest.mark.parametrize("prefix", ["ms/", "ms?", "ms#", "ms ", "../"])
def test_a_job_name_prefix_that_would_change_the_request_path_is_refused(prefix: str) -> None:
    from modelsched.drivers.nomad.translate import job_id_for

    with pytest.raises(ConfigError, match="job_name_prefix"):
        job_id_for(prefix, "m")


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda tmp: "/dev/zero", r"job template /dev/zero: cannot read it: is a character device, not a regular "
                                  r"file \(a job template is a UTF-8 regular file of at most 1 MiB\)"),
        (lambda tmp: _write(tmp / "big.j2", b"{}" + b" " * (1024 * 1024)),
         r"big\.j2: cannot read it: larger than the 1 MiB limit"),
        (lambda tmp: _fifo(tmp / "fifo.j2"), r"fifo\.j2: cannot read it: is a FIFO"),
        (lambda tmp: str(tmp), r"cannot read it: is a directory"),
        (lambda tmp: _write(tmp / "latin1.j2", b'{"ID": "caf\xe9"}'), r"latin1\.j2: cannot read it: not UTF-8 text"),
    ],
    ids=["/dev/zero ends at once", "a file one byte over the limit", "a FIFO without a writer does not hang",
         "a directory", "bytes that are not UTF-8"],
)
def test_a_job_template_is_read_within_a_size_limit_and_only_from_a_regular_file(
    tmp_path: Path, make: Any, said: str
) -> None:
    with pytest.raises(ConfigError, match=said):
        load_template(make(tmp_path))


def test_a_template_at_exactly_the_limit_is_read(tmp_path: Path) -> None:
    from modelsched.drivers.nomad.template import MAX_TEMPLATE_BYTES

    body = b"{}" + b" " * (MAX_TEMPLATE_BYTES - 2)
    assert len(load_template(_write(tmp_path / "full.j2", body)).source) == MAX_TEMPLATE_BYTES


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize(
    ("own", "configured", "placement"),
    [(None, "scheduler", "scheduler"), (None, "pinned", "pinned"), ("scheduler", "pinned", "scheduler"),
     ("pinned", "scheduler", "pinned")],
    ids=["neither set: the scheduler places", "the config's nomad.placement applies to a model without one",
         "a model's own placement beats the config's", "a model may pin under a scheduler-placed config"],
)
def test_plan_and_render_read_a_models_placement_from_one_rule(own: Any, configured: Any, placement: str) -> None:
    from modelsched.drivers.nomad.review import review_jobs
    from modelsched.model.entry import Desired, NomadSettings, Settings

    entry = Entry(model_name="m", min_replicas=1, max_replicas=2, placement=own)  # bounded: service unless pinned
    desired = Desired(entries=(entry,), settings=Settings(nomad=NomadSettings(placement=configured)))
    assert jobspec.placement_of(entry, desired) == placement
    (_, job), = review_jobs(desired, env={})
    assert job["Type"] == {"scheduler": "service", "pinned": "system"}[placement]
