"""A job template is user input run once per model: its work is bounded, with a located error."""

from __future__ import annotations

import time

import pytest

from modelsched.drivers.nomad import sandbox
from modelsched.drivers.nomad.template import Template, load_template, render_template
from modelsched.errors import ConfigError
from modelsched.model.entry import Entry

ENTRY = Entry(model_name="whisper", spread=True, vars={"n": 3})


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ('{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}{"ID": "x"}',
         r"more than 200,000 loop iterations"),
        ('{% for i in range(99999) %}{% for j in [1, 2, 3] %}{% endfor %}{% endfor %}{"ID": "x"}',
         r"more than 200,000 loop iterations"),
        ('{"a": "{{ "x" * 1000000000 }}"}', r"a repetition would build 1,000,000,000 items"),
        ('{"a": "{{ [0] * 1000000000 }}"}', r"a repetition would build"),
        ('{"a": {{ 10 ** 100000000 }}}', r"an exponent of 100000000"),
        ('{"a": "{{ "%999999999d" % 1 }}"}', r"a format width of 999999999"),
        ('{"a": "{{ "{:>999999999}".format(1) }}"}', r"a format width of 999999999"),
        ('{"a": "{{ "x".ljust(999999999) }}"}', r"a string method asked for 999,999,999 characters"),
        ('{% for i in range(99999) %}{{ "y" * 900000 }}{% endfor %}', r"output for one job is larger"),
    ],
    ids=["nested loops over ranges", "nested loops over a list", "a string repeated a billion times",
         "a list repeated a billion times", "a giant power", "a printf width", "a str.format width",
         "a padding method", "output of gigabytes"],
)
def test_a_runaway_template_stops_at_once_with_a_located_error(source: str, why: str) -> None:
    start = time.monotonic()
    with pytest.raises(ConfigError, match=rf"job template t\.j2(:1)?: stopped: .*{why}.*'whisper'"):
        render_template(Template("t.j2", source), ENTRY, "modelsched-whisper")
    assert time.monotonic() - start < 5.0


def test_the_budget_is_per_job_so_many_models_each_get_all_of_it() -> None:
    source = '{% for i in range(60000) %}{% endfor %}{"ID": "{{ model }}"}'
    for _ in range(5):  # 5 x 60,000 iterations would exceed one budget: each render gets its own
        assert render_template(Template("t.j2", source), ENTRY, "j")["ID"] == "whisper"


def test_ordinary_loops_formats_and_arithmetic_still_work() -> None:
    source = (
        '{"Tags": [{% for i in range(vars.n) %}"t{{ i }}"{% if not loop.last %}, {% endif %}{% endfor %}],'
        ' "a": "{{ "%05d-%.2f" % (7, 1.5) }}", "b": "{{ "{:>4}".format(1) }}", "c": {{ 2 ** 10 * 3 }},'
        ' "d": "{{ "ab" * 3 }}", "e": {{ 10 % 3 }}}'
    )
    got = render_template(Template("t.j2", source), ENTRY, "j")
    assert got == {"Tags": ["t0", "t1", "t2"], "a": "00007-1.50", "b": "   1", "c": 3072, "d": "ababab", "e": 1}


def test_the_packaged_default_template_is_far_within_the_budget() -> None:
    budget = sandbox.Budget()
    assert budget.steps == sandbox.MAX_STEPS
    render_template(load_template(None), ENTRY, "modelsched-whisper")
