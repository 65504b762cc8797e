"""Policy rules: validation and compiled conditions (tool, server, client, role, arguments,
time window, source IP). All conditions given in a rule must hold for it to match."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from magictunnel.security.common import (
    InvalidInput,
    any_glob,
    compile_regex,
    optional_bool,
    optional_int,
    reject_unknown,
    require_str,
    str_list,
)

EFFECTS = ("allow", "deny", "require_approval")
OPS = ("eq", "ne", "in", "not_in", "contains", "matches", "gt", "gte", "lt", "lte", "exists", "not_exists")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CONDITION_KEYS = {"tools", "servers", "clients", "roles", "arguments", "time_window", "source_ips", "sources"}
FIELDS = {"name", "effect", "priority", "conditions", "message", "enabled", "description"}


@dataclass(frozen=True)
class Facts:
    tool: str
    server: str | None
    client_id: str
    roles: tuple[str, ...]
    arguments: dict[str, Any]
    source: str
    remote_addr: str | None
    now: dt.datetime


def _time(value: Any, where: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{where}: must be HH:MM, not {value!r}") from None


def validate_conditions(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: must be an object")
    reject_unknown(value, CONDITION_KEYS, where)
    out: dict[str, Any] = {}
    for key in ("tools", "servers", "clients", "roles", "sources"):
        if key in value:
            out[key] = str_list(value[key], f"{where}.{key}")
    if "source_ips" in value:
        nets = str_list(value["source_ips"], f"{where}.source_ips")
        for i, net in enumerate(nets):
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError as exc:
                raise InvalidInput(f"{where}.source_ips[{i}]: {exc}") from None
        out["source_ips"] = nets
    if "arguments" in value:
        args = value["arguments"]
        if not isinstance(args, list):
            raise InvalidInput(f"{where}.arguments: must be a list of {{path, op, value}}")
        for i, cond in enumerate(args):
            at = f"{where}.arguments[{i}]"
            if not isinstance(cond, dict):
                raise InvalidInput(f"{at}: must be an object {{path, op, value}}")
            reject_unknown(cond, {"path", "op", "value"}, at)
            require_str(cond, "path", at)
            op = require_str(cond, "op", at, OPS, default="eq")
            if op == "matches":
                if not isinstance(cond.get("value"), str):
                    raise InvalidInput(f"{at}.value: a regular expression string is required for 'matches'")
                compile_regex(cond["value"], f"{at}.value")
            if op in ("in", "not_in") and not isinstance(cond.get("value"), list):
                raise InvalidInput(f"{at}.value: a list is required for '{op}'")
            if op in ("gt", "gte", "lt", "lte") and not isinstance(cond.get("value"), int | float):
                raise InvalidInput(f"{at}.value: a number is required for '{op}'")
        out["arguments"] = args
    if "time_window" in value:
        tw = value["time_window"]
        at = f"{where}.time_window"
        if not isinstance(tw, dict):
            raise InvalidInput(f"{at}: must be an object {{days, start, end, timezone}}")
        reject_unknown(tw, {"days", "start", "end", "timezone"}, at)
        days = str_list(tw.get("days"), f"{at}.days")
        bad = [d for d in days if d not in DAYS]
        if bad:
            raise InvalidInput(f"{at}.days: unknown day(s) {', '.join(bad)} (use {', '.join(DAYS)})")
        _time(tw.get("start", "00:00"), f"{at}.start")
        _time(tw.get("end", "23:59:59"), f"{at}.end")
        try:
            ZoneInfo(tw.get("timezone", "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"{at}.timezone: unknown time zone {tw.get('timezone')!r}") from None
        out["time_window"] = tw
    return out


def validate_rule(data: dict[str, Any], where: str = "policy") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: must be an object")
    reject_unknown(data, FIELDS, where)
    return {
        "name": require_str(data, "name", where),
        "effect": require_str(data, "effect", where, EFFECTS),
        "priority": optional_int(data, "priority", where),
        "conditions": validate_conditions(data.get("conditions"), f"{where}.conditions"),
        "message": str(data.get("message") or ""),
        "enabled": optional_bool(data, "enabled", where),
        "description": str(data.get("description") or ""),
    }


_MISSING = object()


def _lookup(arguments: dict[str, Any], path: str) -> Any:
    current: Any = arguments
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _arg_ok(cond: dict[str, Any], arguments: dict[str, Any]) -> bool:
    value = _lookup(arguments, cond["path"])
    op, expected = cond.get("op", "eq"), cond.get("value")
    if op == "exists":
        return value is not _MISSING
    if op == "not_exists":
        return value is _MISSING
    if value is _MISSING:
        return False
    try:
        match op:
            case "eq":
                return value == expected
            case "ne":
                return value != expected
            case "in":
                return value in expected
            case "not_in":
                return value not in expected
            case "contains":
                return str(expected) in (value if isinstance(value, str | list | dict) else str(value))
            case "matches":
                return re.search(expected, value if isinstance(value, str) else str(value)) is not None
            case "gt":
                return value > expected
            case "gte":
                return value >= expected
            case "lt":
                return value < expected
            case "lte":
                return value <= expected
    except TypeError:
        return False
    return False


class CompiledRule:
    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.name: str = row["name"]
        self.effect: str = row["effect"]
        c = row["conditions"] or {}
        self.tools = any_glob(c["tools"]) if "tools" in c else None
        self.servers = any_glob(c["servers"]) if "servers" in c else None
        self.clients = any_glob(c["clients"]) if "clients" in c else None
        self.roles = set(c["roles"]) if "roles" in c else None
        self.sources = set(c["sources"]) if "sources" in c else None
        self.args = c.get("arguments")
        self.nets = (
            [ipaddress.ip_network(n, strict=False) for n in c["source_ips"]] if "source_ips" in c else None
        )
        tw = c.get("time_window")
        self.window = None
        if tw:
            self.window = (
                set(tw.get("days") or DAYS),
                dt.time.fromisoformat(tw.get("start", "00:00")),
                dt.time.fromisoformat(tw.get("end", "23:59:59")),
                ZoneInfo(tw.get("timezone", "UTC")),
            )

    def matches(self, f: Facts) -> bool:
        if self.tools is not None and not self.tools(f.tool):
            return False
        if self.servers is not None and not (f.server and self.servers(f.server)):
            return False
        if self.clients is not None and not self.clients(f.client_id):
            return False
        if self.roles is not None and not self.roles.intersection(f.roles):
            return False
        if self.sources is not None and f.source not in self.sources:
            return False
        if self.nets is not None:
            try:
                addr = ipaddress.ip_address((f.remote_addr or "").split("%")[0])
            except ValueError:
                return False
            if not any(addr in net for net in self.nets):
                return False
        if self.window is not None:
            days, start, end, zone = self.window
            local = f.now.astimezone(zone)
            t = local.time()
            inside = (start <= t <= end) if start <= end else (t >= start or t <= end)
            if DAYS[local.weekday()] not in days or not inside:
                return False
        return not (self.args and not all(_arg_ok(c, f.arguments) for c in self.args))
