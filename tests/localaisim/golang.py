"""How Go (encoding/json, time.Time, net/url) and Echo v4 shape LocalAI's wire format.

LocalAI answers with Echo's c.JSON (encoding/json: struct fields in declared order, map keys
sorted, <>& escaped as \\u003c..., a trailing newline) and reads bodies with Echo's
DefaultBinder (echo v4.15.1 bind.go): path params first, then the body, and only when the
Content-Length is non-zero and the media type is exactly application/json.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote, unquote

INT64 = (-(2**63), 2**63 - 1)


class BindError(Exception):
    """c.Bind failed (Echo: 400 syntax/type error, 415 unsupported media type)."""


def _go_value(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)  # Go prints float64(2) as 2
    if isinstance(value, dict):
        return {k: _go_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_value(v) for v in value]
    return value


def go_marshal(value: Any) -> str:
    """json.Marshal: compact, HTML-escaped. Callers pass maps already sorted (Go sorts map keys)."""
    text = json.dumps(_go_value(value), ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def sorted_map(mapping: dict[str, str] | None) -> dict[str, str]:
    mapping = mapping or {}
    return {k: mapping[k] for k in sorted(mapping)}


def go_time(seconds: float | None) -> str:
    """time.Time as RFC3339Nano (UTC, microseconds from PostgreSQL, trailing zeros trimmed)."""
    if seconds is None:
        return "0001-01-01T00:00:00Z"
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    frac = f"{moment.microsecond:06d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def echo_path(raw_path: str) -> str:
    """echo.GetPath: the decoded path, unless Go's default escaping of it differs from the raw
    one (e.g. %2F), in which case Go sets URL.RawPath and Echo routes on the raw, still-escaped
    text: path params are then NOT unescaped (echo v4.15.1 has no PathUnescape for params)."""
    decoded = unquote(raw_path)
    return decoded if quote(decoded, safe="$&+,/:;=@") == raw_path else raw_path


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def decode_body(body: bytes, content_type: str | None) -> tuple[str, Any]:
    """Echo BindBody. Returns (kind, value), kind "none" (body not read: Content-Length 0),
    "json" or "form"; any other media type (none given included) is a 415 bind error."""
    if not body:
        return "none", None
    media = (content_type or "").split(";", 1)[0].strip()
    if media == "application/x-www-form-urlencoded":
        return "form", _form(body)
    if media != "application/json":
        raise BindError("code=415, message=Unsupported Media Type")  # XML bodies: not modelled
    text = body.decode("utf-8", errors="replace").lstrip(" \t\r\n")
    if not text:
        raise BindError("EOF")
    try:  # json.Decoder.Decode reads ONE value; trailing bytes are never looked at
        value, _ = json.JSONDecoder(parse_constant=_reject_constant).raw_decode(text)
    except ValueError as err:
        raise BindError(str(err)) from err
    return "json", value


def _form(body: bytes) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return {k: v for k, v in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)}


def _check(kind: str, value: Any, name: str) -> Any:
    ok = {
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool) and INT64[0] <= value <= INT64[1],
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "map": isinstance(value, dict) and all(isinstance(v, str) or v is None for v in value.values()),
    }[kind.removeprefix("*")]
    if not ok:
        raise BindError(f"json: cannot unmarshal {type(value).__name__} into Go struct field .{name}")
    if kind.endswith("map"):
        return {k: ("" if v is None else v) for k, v in value.items()}  # null element -> ""
    return float(value) if kind.endswith("float") else value


def decode_struct(value: Any, fields: dict[str, str]) -> dict[str, Any]:
    """json.Unmarshal into a Go struct. fields: json name -> kind (str|bool|int|float|map, a
    leading * for pointers). Keys match case-insensitively, unknown keys are ignored, a wrong
    type fails the whole bind, null leaves a value field untouched (a pointer/map becomes nil)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BindError(f"json: cannot unmarshal {type(value).__name__} into Go value of type struct")
    folded = {name.lower(): name for name in fields}
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = key if key in fields else folded.get(key.lower())
        if name is None:
            continue
        kind = fields[name]
        if item is None:
            if kind.startswith("*") or kind == "map":
                out[name] = None
            continue
        out[name] = _check(kind, item, name)
    return out


def decode_string_map(value: Any, start: dict[str, str]) -> dict[str, str] | None:
    """json.Unmarshal into a map[string]string that already holds `start` (Echo bound the path
    params into it first): entries are added to it; null makes the whole map nil."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) or v is None for v in value.values()):
        raise BindError("json: cannot unmarshal into Go value of type map[string]string")
    return {**start, **{k: ("" if v is None else v) for k, v in value.items()}}
