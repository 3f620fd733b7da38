"""Go encoding/json type errors for the job register body (command/agent decodeBody -> HTTP 400).

Nomad decodes `POST /v1/jobs` into api.JobRegisterRequest with encoding/json; a value
of the wrong JSON type is `json: cannot unmarshal <kind> into Go struct field
<Struct>.<path> of type <type>` and jobUpdate answers 400 (command/agent/job_endpoint.go).
Only the fields the simulator models are typed here; unknown keys are ignored like Go does.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]  # field -> type name, or (struct name, Schema) / [element]

_CONSTRAINT: Schema = {"LTarget": "string", "RTarget": "string", "Operand": "string"}
_SERVICE: Schema = {"Name": "string", "Provider": "string", "PortLabel": "string"}
_TASK: Schema = {
    "Name": "string", "Driver": "string", "User": "string", "Env": "map[string]string",
    "Meta": "map[string]string", "Constraints": [("Constraint", _CONSTRAINT)], "Services": [("Service", _SERVICE)],
}
_SCALING: Schema = {"Min": "int64", "Max": "int64", "Enabled": "bool"}
_UPDATE: Schema = {"MaxParallel": "int", "MinHealthyTime": "time.Duration", "Canary": "int"}
_GROUP: Schema = {
    "Name": "string", "Count": "int", "Meta": "map[string]string", "Constraints": [("Constraint", _CONSTRAINT)],
    "Tasks": [("Task", _TASK)], "Services": [("Service", _SERVICE)], "Scaling": ("ScalingPolicy", _SCALING),
    "Update": ("UpdateStrategy", _UPDATE),
}
JOB: Schema = {
    "ID": "string", "Name": "string", "Type": "string", "Region": "string", "Namespace": "string",
    "NodePool": "string", "Priority": "int", "Datacenters": "[]string", "Meta": "map[string]string",
    "Constraints": [("Constraint", _CONSTRAINT)], "TaskGroups": [("TaskGroup", _GROUP)],
    "Update": ("UpdateStrategy", _UPDATE), "Stop": "bool",
}
REQUEST: Schema = {"Job": ("Job", JOB), "EnforceIndex": "bool", "JobModifyIndex": "uint64", "Namespace": "string"}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return f"number {value}" if isinstance(value, float) else "number"
    kinds: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return kinds.get(type(value), "value")


def _scalar_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind in ("int", "int64", "uint64", "time.Duration"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return ok and (kind != "uint64" or value >= 0)
    if kind == "[]string":
        return isinstance(value, list) and all(isinstance(v, str) or v is None for v in value)
    if kind == "map[string]string":
        return isinstance(value, dict) and all(isinstance(v, str) or v is None for v in value.values())
    return True


def _error(value: Any, struct: str, path: str, kind: str) -> str:
    if kind in ("[]string", "map[string]string") and isinstance(value, (list, dict)):
        inner = value if isinstance(value, list) else list(value.values())
        bad = next(v for v in inner if not isinstance(v, str) and v is not None)
        return f"json: cannot unmarshal {_kind(bad)} into Go struct field {struct}.{path} of type string"
    return f"json: cannot unmarshal {_kind(value)} into Go struct field {struct}.{path} of type {kind}"


def type_error(body: dict[str, Any], schema: Schema = REQUEST, struct: str = "JobRegisterRequest",
               path: str = "") -> str | None:
    """The first Go json type error in `body`, or None."""
    for key, kind in schema.items():
        if key not in body or body[key] is None:
            continue
        value, where = body[key], f"{path}{key}"
        if isinstance(kind, tuple):
            if not isinstance(value, dict):
                return (f"json: cannot unmarshal {_kind(value)} into Go struct field {struct}.{where} "
                        f"of type api.{kind[0]}")
            found = type_error(value, kind[1], kind[0], where + ".")
        elif isinstance(kind, list):
            name, inner = kind[0]
            if not isinstance(value, list):
                return (f"json: cannot unmarshal {_kind(value)} into Go struct field {struct}.{where} "
                        f"of type []*api.{name}")
            found = None
            for item in value:
                if item is not None and not isinstance(item, dict):
                    return (f"json: cannot unmarshal {_kind(item)} into Go struct field {struct}.{where} "
                            f"of type api.{name}")
                found = found or (type_error(item, inner, name, where + ".") if item else None)
        elif not _scalar_ok(kind, value):
            return _error(value, struct, where, kind)
        else:
            found = None
        if found:
            return found
    return None
