"""Shapes of Nomad's answers, checked before any other module reads them.

A proxy, a wrong address or a broken server can answer with JSON that is not what the
endpoint returns: a non-integer index, an allocation without an ID, a string where a
list belongs. Read further, that is an internal error at best and, at worst, a wrong
plan (an allocation skipped is a replica planned again). Each check here raises a
`MalformedAnswer` naming the endpoint, the item and the field, and returns the data
unchanged when it is well formed, so `translate` can rely on the fields it reads.

Only the fields the driver reads are checked, by type (Nomad adds fields over time).
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from operator import methodcaller
from typing import Any

from modelsched.errors import DriverError


class MalformedAnswer(DriverError):
    """Nomad (or whatever answered) sent data that is not the endpoint's shape."""


_STR = (str,)
_OPT_STR = (str, type(None))
_BOOL_OR_NONE = (bool, type(None))
_DICT_OR_NONE = (dict, type(None))

# Per kind of item: field -> (accepted types, required). An `int` field never accepts a bool.
NODE_STUB: dict[str, tuple[tuple[type, ...], bool]] = {
    "ID": (_STR, True),
    "Name": (_OPT_STR, False),
    "Datacenter": (_OPT_STR, False),
    "NodeClass": (_OPT_STR, False),
    "NodePool": (_OPT_STR, False),
    "Status": (_OPT_STR, False),
    "SchedulingEligibility": (_OPT_STR, False),
    "Drain": (_BOOL_OR_NONE, False),
}
NODE_ID: dict[str, tuple[tuple[type, ...], bool]] = {"ID": (_STR, True)}
JOB_STUB: dict[str, tuple[tuple[type, ...], bool]] = {
    "ID": (_STR, True),
    "Type": (_OPT_STR, False),
    "JobModifyIndex": ((int,), True),
    "Meta": (_DICT_OR_NONE, False),
    "Stop": (_BOOL_OR_NONE, False),
    "Status": (_OPT_STR, False),
}
ALLOCATION: dict[str, tuple[tuple[type, ...], bool]] = {
    "ID": (_STR, True),
    "JobID": (_STR, True),
    "NodeID": (_STR, True),
    "Name": (_OPT_STR, False),
    "TaskGroup": (_OPT_STR, False),
    "DesiredStatus": (_STR, True),
    "ClientStatus": (_STR, True),
}
JOB: dict[str, tuple[tuple[type, ...], bool]] = {
    "ID": (_STR, True),
    "JobModifyIndex": ((int,), True),
    "Meta": (_DICT_OR_NONE, False),
    "Stop": (_BOOL_OR_NONE, False),
    "Type": (_OPT_STR, False),
}
WRITE: dict[str, tuple[tuple[type, ...], bool]] = {
    "EvalID": (_OPT_STR, False),
    "JobModifyIndex": ((int, type(None)), False),
    "Index": ((int, type(None)), False),
}
EVALUATION: dict[str, tuple[tuple[type, ...], bool]] = {
    "ID": (_STR, False),
    "Status": (_OPT_STR, False),
    "FailedTGAllocs": (_DICT_OR_NONE, False),
}
PLAN: dict[str, tuple[tuple[type, ...], bool]] = {
    "Annotations": (_DICT_OR_NONE, False),
    "FailedTGAllocs": (_DICT_OR_NONE, False),
    "JobModifyIndex": ((int, type(None)), False),
    "Warnings": (_OPT_STR, False),
}


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _item(endpoint: str, what: str, item: Any, fields: Mapping[str, tuple[tuple[type, ...], bool]]) -> None:
    if not isinstance(item, dict):
        raise MalformedAnswer(f"{endpoint}: {what} is {_type_name(item)}, not an object")
    for name, (types, required) in fields.items():
        if name not in item:
            if required:
                raise MalformedAnswer(f"{endpoint}: {what} has no {name}")
            continue
        value = item[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise MalformedAnswer(f"{endpoint}: {what} has {name} = {_type_name(value)}, not {_want(types)}")
        if name == "ID" and value == "":
            raise MalformedAnswer(f"{endpoint}: {what} has an empty ID")


def _want(types: tuple[type, ...]) -> str:
    names = [{str: "a string", int: "an integer", bool: "a boolean", dict: "an object"}.get(t, "null") for t in types]
    return " or ".join(n for n in names if n != "null") or "null"


# An item's ID is named in messages only when it is a plain ID, shown whole (never cut:
# the client scrubs the token from the whole message, so nothing may be half-shown).
_PLAIN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


_MISSING = object()


def _well_formed(items: list[Any], fields: Mapping[str, tuple[tuple[type, ...], bool]]) -> bool:
    """The fast check: the set of types seen per field, gathered at C speed (map and
    methodcaller: 10^4 node stubs cost a few milliseconds); `_item` then finds and names
    the first problem, if any."""
    if set(map(type, items)) - {dict}:
        return False
    for name, (types, required) in fields.items():
        allowed = set(types) | (set() if required else {type(_MISSING)})
        if set(map(type, map(methodcaller("get", name, _MISSING), items))) - allowed:
            return False
        if name == "ID" and "" in set(map(methodcaller("get", name, "-"), items)):
            return False
    return True


def listing(endpoint: str, got: Any, fields: Mapping[str, tuple[tuple[type, ...], bool]]) -> list[dict[str, Any]]:
    """A list of objects, each with `fields` of the right types."""
    if not isinstance(got, list):
        # Never read a non-list as "no nodes / no jobs": that would plan removals.
        raise MalformedAnswer(
            f"{endpoint}: the answer is {_type_name(got)}, not a list; this is not a Nomad HTTP API "
            "(check NOMAD_ADDR)"
        )
    if _well_formed(got, fields):
        return got
    for i, item in enumerate(got):
        ident = item.get("ID") if isinstance(item, dict) else None
        plain = isinstance(ident, str) and _PLAIN_ID.fullmatch(ident)
        what = f"item {i + 1}" + (f" (ID {ident})" if plain else "")
        _item(endpoint, what, item, fields)
    return got


def one(endpoint: str, got: Any, fields: Mapping[str, tuple[tuple[type, ...], bool]]) -> dict[str, Any]:
    """One object with `fields` of the right types."""
    _item(endpoint, "the answer", got, fields)
    assert isinstance(got, dict)
    return got


def plan_counts(endpoint: str, got: dict[str, Any]) -> dict[str, Any]:
    """`Annotations.DesiredTGUpdates` of a plan answer: group -> counter -> integer."""
    updates = (got.get("Annotations") or {}).get("DesiredTGUpdates")
    if updates is None:
        return got
    if not isinstance(updates, dict):
        raise MalformedAnswer(f"{endpoint}: Annotations.DesiredTGUpdates is {_type_name(updates)}, not an object")
    for counts in updates.values():
        if counts is None:
            continue
        if not isinstance(counts, dict):
            raise MalformedAnswer(f"{endpoint}: DesiredTGUpdates: a group is {_type_name(counts)}, not an object")
        for value in counts.values():
            if not isinstance(value, int) or isinstance(value, bool):
                raise MalformedAnswer(f"{endpoint}: DesiredTGUpdates: a counter is {_type_name(value)}, not an integer")
    return got


_BUILD = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")

Version = tuple[int, int, int]


def _parse(text: Any) -> Version | None:
    found = _BUILD.match(str(text or ""))
    if not found:
        return None
    major, minor, patch = (int(x) for x in found.groups())
    return (major, minor, patch)


def agent_version(endpoint: str, got: Any) -> Version:
    """The version `GET /v1/agent/self` reports: a server's `member.Tags.build` (e.g.
    `1.7.2`, `1.8.0-beta.1`, `1.9.3+ent`), else (a client agent, whose `member` is empty)
    its own `config.Version.Version`, a lower bound of its servers' (Nomad servers are
    upgraded before their clients)."""
    if not isinstance(got, dict):
        raise MalformedAnswer(f"{endpoint}: the answer is {_type_name(got)}, not an object")
    member = got.get("member")
    tags = member.get("Tags") if isinstance(member, dict) else None
    if isinstance(tags, dict) and tags.get("build"):
        version = _parse(tags["build"])
        if version is not None:
            return version
    config = got.get("config")
    number = config.get("Version") if isinstance(config, dict) else None
    if isinstance(number, dict):
        number = number.get("Version")
    version = _parse(number)
    if version is None:
        raise MalformedAnswer(f"{endpoint}: the answer has no Nomad version (member.Tags.build, config.Version)")
    return version


def server_version(endpoint: str, got: Any, region: str | None) -> Version:
    """The lowest version among the alive servers of `region` (the answering server's
    region when None), from `GET /v1/agent/members` (each member's `build` tag)."""
    if not isinstance(got, dict) or not isinstance(got.get("Members"), list):
        raise MalformedAnswer(f"{endpoint}: the answer has no Members list; this is not a Nomad HTTP API")
    want = region or got.get("ServerRegion")
    versions: list[Version] = []
    for member in got["Members"]:
        tags = member.get("Tags") if isinstance(member, dict) else None
        if not isinstance(tags, dict) or tags.get("role") not in (None, "nomad"):
            continue
        if member.get("Status") not in (None, "alive") or (want and tags.get("region") not in (None, want)):
            continue
        version = _parse(tags.get("build"))
        if version is not None:
            versions.append(version)
    if not versions:
        where = f" of region {want}" if want else ""
        raise MalformedAnswer(f"{endpoint}: no alive Nomad server{where} with a version (Tags.build) in the answer")
    return min(versions)
