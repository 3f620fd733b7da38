"""A strict schema of the Nomad job fields modelsched emits or accepts from templates.

Nomad silently drops unknown keys (a typo like `Constraint` vanishes: NOMAD.md
"Jobs"), so every rendered job is checked here before it is shown or registered.
Driver-specific task `Config` stays free-form. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from modelsched.errors import ConfigError

# Service.ValidateName (nomad/structs/services.go), checked after interpolation.
SERVICE_NAME = re.compile(r"(?i:[a-z0-9]|[a-z0-9][a-z0-9\-]{0,61}[a-z0-9])")  # use with fullmatch
# Operands that need an RTarget (Constraint.Validate, nomad/structs).
NEEDS_RTARGET = frozenset({"=", "==", "is", "!=", "not", "set_contains", "set_contains_all", "set_contains_any",
                           "version", "semver", "regexp"})


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Constraint(_M):
    LTarget: str = ""
    RTarget: str = ""
    Operand: str

    @model_validator(mode="after")
    def _targets(self) -> Constraint:
        if self.Operand in NEEDS_RTARGET and not self.RTarget:
            raise ValueError(f'Operator "{self.Operand}" requires an RTarget (Nomad refuses the job)')
        if self.Operand != "distinct_hosts" and not self.LTarget:
            raise ValueError(f'Operator "{self.Operand}": no attribute (LTarget) provided but it is required')
        return self


class Port(_M):
    Label: str
    Value: int | None = None
    To: int | None = None
    HostNetwork: str | None = None


class Network(_M):
    Mode: str | None = None
    DynamicPorts: list[Port] | None = None
    ReservedPorts: list[Port] | None = None


class Check(_M):
    Name: str | None = None
    Type: str
    Path: str | None = None
    PortLabel: str | None = None
    Interval: int
    Timeout: int


class Service(_M):
    Name: str

    @field_validator("Name")
    @classmethod
    def _rfc1123(cls, name: str) -> str:
        if "${" not in name and not SERVICE_NAME.fullmatch(name):
            raise ValueError(
                f"service name {name!r} is not valid per RFC 1123 (letters, digits and '-', not starting or "
                "ending with '-', at most 63 characters): Nomad refuses the job"
            )
        return name
    PortLabel: str | None = None
    Provider: Literal["nomad", "consul"] | None = None
    Tags: list[str] | None = None
    Checks: list[Check] | None = None


class Device(_M):
    Name: str
    Count: int
    Constraints: list[Constraint] | None = None


class ResourcesSpec(_M):
    CPU: int | None = None
    Cores: int | None = None
    MemoryMB: int | None = None
    MemoryMaxMB: int | None = None
    Devices: list[Device] | None = None


class RestartPolicySpec(_M):
    Attempts: int | None = None
    Interval: int | None = None
    Delay: int | None = None
    Mode: Literal["fail", "delay"] | None = None


class TemplateSpec(_M):
    EmbeddedTmpl: str | None = None
    SourcePath: str | None = None
    DestPath: str
    ChangeMode: str | None = None
    Envvars: bool | None = None


class Task(_M):
    Name: str
    Driver: str
    Config: dict[str, Any] | None = None
    Env: dict[str, str] | None = None
    Meta: dict[str, str] | None = None
    Resources: ResourcesSpec | None = None
    Services: list[Service] | None = None
    Templates: list[TemplateSpec] | None = None
    KillTimeout: int | None = None
    User: str | None = None


class ScalingSpec(_M):
    Min: int
    Max: int
    Enabled: bool | None = None
    Policy: dict[str, Any] | None = None


class EphemeralDiskSpec(_M):
    SizeMB: int | None = None
    Sticky: bool | None = None
    Migrate: bool | None = None


class TaskGroup(_M):
    Name: str
    Count: int
    Constraints: list[Constraint] | None = None
    Scaling: ScalingSpec | None = None
    Networks: list[Network] | None = None
    Services: list[Service] | None = None
    RestartPolicy: RestartPolicySpec | None = None
    EphemeralDisk: EphemeralDiskSpec | None = None
    Meta: dict[str, str] | None = None
    Tasks: list[Task]


class Job(_M):
    ID: str
    Name: str
    Type: Literal["service", "system"]
    Namespace: str | None = None
    Region: str | None = None
    Datacenters: list[str]
    NodePool: str | None = None
    Priority: int | None = None
    Meta: dict[str, str]
    Constraints: list[Constraint] | None = None
    TaskGroups: list[TaskGroup]


def check_job(job: dict[str, Any], template: str, model: str) -> None:
    """Raise ConfigError listing every field that Nomad would drop or reject."""
    try:
        Job.model_validate(job)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"]) or "<job>"
            msg = "unknown field (Nomad would silently drop it)" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"job template {template}: model {model!r}: {path}: {msg}")
        raise ConfigError(problems) from None
