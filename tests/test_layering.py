"""Dependencies point one way (ARCHITECTURE.md): cli -> workflow -> drivers -> planner -> model.

`config` (the config reader) and `output` (plan formats) sit beside the drivers: they use
the data model and nothing above it. Drivers never import each other. The workflow is the
only way down from the cli: a command imports the workflow, the output formats, the error
types and its own modules.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "modelsched"
FORBIDDEN_IN_PLANNER = {"yaml", "jinja2", "nomad", "click", "requests", "deepdiff"}


def imports_of(package: str) -> set[str]:
    found: set[str] = set()
    root = PACKAGE / package
    paths = [root.with_suffix(".py")] if root.with_suffix(".py").exists() else list(root.rglob("*.py"))
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                if node.module == "modelsched":
                    found.update(f"modelsched.{alias.name}" for alias in node.names)
    return found


def test_the_planner_imports_the_data_model_and_the_standard_library_only() -> None:
    for name in imports_of("planner"):
        top = name.split(".")[0]
        if top == "modelsched":
            allowed = name in {"modelsched", "modelsched.GENERATOR"}
            assert allowed or name.startswith(("modelsched.model", "modelsched.planner")), name
        else:
            assert top in sys.stdlib_module_names or top == "__future__", name


def test_importing_the_planner_loads_no_io_or_ui_library() -> None:
    code = (
        "import sys, modelsched.planner; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN_IN_PLANNER)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


ABOVE_MODEL = ("modelsched.config", "modelsched.planner", "modelsched.drivers", "modelsched.output",
               "modelsched.workflow", "modelsched.cli")


@pytest.mark.parametrize(
    ("package", "must_not_import"),
    [
        ("model", ABOVE_MODEL),
        ("config", ("modelsched.planner", "modelsched.drivers", "modelsched.output", "modelsched.workflow",
                    "modelsched.cli")),
        ("planner", ("modelsched.config", "modelsched.drivers", "modelsched.output", "modelsched.workflow",
                     "modelsched.cli")),
        ("output", ("modelsched.config", "modelsched.planner", "modelsched.drivers", "modelsched.workflow",
                    "modelsched.cli")),
        ("drivers", ("modelsched.workflow", "modelsched.cli", "modelsched.output")),
        ("errors.py", ("modelsched.",)),
    ],
    ids=[
        "the data model imports no layer above it",
        "the config reader imports only the data model",
        "the planner imports no driver, workflow or cli",
        "output formats import only the data model",
        "drivers import no workflow, output or cli",
        "the error types import nothing of the project",
    ],
)
def test_no_layer_imports_a_layer_above_it(package: str, must_not_import: tuple[str, ...]) -> None:
    assert not {n for n in imports_of(package) if n.startswith(must_not_import)}


def test_drivers_never_import_each_other() -> None:
    drivers = [p.name for p in (PACKAGE / "drivers").iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    for name in drivers:
        others = tuple(f"modelsched.drivers.{o}" for o in drivers if o != name)
        found = imports_of(f"drivers/{name}")
        assert not {n for n in found if any(n == o or n.startswith(o + ".") for o in others)}, name


def test_the_workflow_sits_above_the_drivers_and_below_the_cli() -> None:
    found = imports_of("workflow")
    # Never the cli: each driver package builds its own driver.
    assert not {n for n in found if n.startswith("modelsched.cli")}
    assert "modelsched.drivers.base" in found and "modelsched.planner" in found


# The Nomad options take their defaults and value checks from the Nomad driver's
# connection module (light: it imports neither requests nor python-nomad).
CLI_EXEMPT = {"nomad_options.py"}
CLI_MAY_IMPORT = ("modelsched.workflow", "modelsched.output", "modelsched.errors", "modelsched.cli")


def _cli_modules() -> list[Path]:
    return sorted(p for p in (PACKAGE / "cli").glob("*.py") if p.name not in CLI_EXEMPT)


@pytest.mark.parametrize("path", _cli_modules(), ids=lambda p: f"cli/{p.name}")
def test_a_cli_module_imports_only_the_workflow_output_errors_and_the_cli(path: Path) -> None:
    below = set()
    for name in imports_of(f"cli/{path.stem}"):
        if name.split(".")[0] != "modelsched" or name == "modelsched":
            continue  # third-party, stdlib, or the version from the package root
        if name in ("modelsched.GENERATOR", "modelsched.__version__"):
            continue
        if not name.startswith(CLI_MAY_IMPORT):
            below.add(name)
    assert not below
