"""The flows: validate, plan, apply (a saved plan, or plan and apply now), show, render.

A command builds a `Request` (its options, the environment, stdin), calls one function
here and prints what comes back; errors are `modelsched.errors` types. The workflow owns
the order of the work and the checks between its steps, never prints, and never reads
os.environ or sys.stdin itself. Modules: `request` (options -> config, driver,
targets), `files` (plan files and reports, never over an input), `flows` (plan and
apply), `jobs` (Nomad jobs for review). This package is all the CLI imports of the
layers below it: the names below are its interface.
"""

from modelsched.drivers.base import ApplyReport, ModelProgress, Reporter, WaitStatus
from modelsched.model.entry import Desired, Entry
from modelsched.model.plan import Change, Plan
from modelsched.workflow.files import check_report_path, read_plan_file, write_file
from modelsched.workflow.flows import apply_now, apply_saved, plan, plan_with, refuse_errors, show
from modelsched.workflow.jobs import render_jobs
from modelsched.workflow.request import DRIVERS, Applied, Request, driver_choice, state_path, validate

__all__ = [
    "DRIVERS", "Applied", "ApplyReport", "Change", "Desired", "Entry", "ModelProgress", "Plan", "Reporter",
    "Request", "WaitStatus", "apply_now", "apply_saved", "check_report_path", "driver_choice", "plan",
    "plan_with", "read_plan_file", "refuse_errors", "render_jobs", "show", "state_path", "validate",
    "write_file",
]
