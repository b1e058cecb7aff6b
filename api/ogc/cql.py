"""CQL2 filters (OGC API – Features Part 3) -> parameterised SQL over a collection.

Parsing and validation are the `cql2` library's (the reference implementation of the standard, for
both the text and the JSON encodings): it turns either into canonical CQL2-JSON. This module only
walks that tree and writes SQL, every literal a query parameter, every property looked up in the
collection's queryables.

Why not pygeofilter's parsers and SQLAlchemy backend (pygeofilter 0.4): its cql2-text grammar does
not parse the standard function form of temporal predicates (`T_INTERSECTS(a, INTERVAL(…))`), its
cql2-json parser rejects the standard `between` form and reads `{"bbox": [...]}` with axes swapped,
and its backend builds SRID-4326 literals that PostGIS refuses to compare with SRID-4490 columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import cql2
import orjson
import shapely

from api.ogc import crs as ocrs
from api.ogc.collections import Collection, Prop
from gis.errors import InvalidInput

COMPARISONS = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
ARITHMETIC = {"+": "+", "-": "-", "*": "*", "/": "/"}
SPATIAL = {
    "s_intersects": "ST_Intersects", "s_within": "ST_Within", "s_contains": "ST_Contains",
    "s_disjoint": "ST_Disjoint", "s_equals": "ST_Equals", "s_touches": "ST_Touches",
    "s_overlaps": "ST_Overlaps", "s_crosses": "ST_Crosses",
}
#: CQL2 temporal relations over closed intervals [a0, a1] and [b0, b1] (an instant has a0 = a1).
TEMPORAL = {
    "t_after": "{a0} > {b1}",
    "t_before": "{a1} < {b0}",
    "t_contains": "{a0} < {b0} AND {a1} > {b1}",
    "t_disjoint": "NOT ({a0} <= {b1} AND {a1} >= {b0})",
    "t_during": "{a0} > {b0} AND {a1} < {b1}",
    "t_equals": "{a0} = {b0} AND {a1} = {b1}",
    "t_finishedby": "{a0} < {b0} AND {a1} = {b1}",
    "t_finishes": "{a0} > {b0} AND {a1} = {b1}",
    "t_intersects": "{a0} <= {b1} AND {a1} >= {b0}",
    "t_meets": "{a1} = {b0}",
    "t_metby": "{a0} = {b1}",
    "t_overlappedby": "{a0} > {b0} AND {a0} < {b1} AND {a1} > {b1}",
    "t_overlaps": "{a0} < {b0} AND {a1} > {b0} AND {a1} < {b1}",
    "t_startedby": "{a0} = {b0} AND {a1} > {b1}",
    "t_starts": "{a0} = {b0} AND {a1} < {b1}",
}
GEOMETRY_NAMES = ("geometry", "geom")


def parse(text: str, lang: str | None) -> dict | Any:
    """Either encoding -> canonical CQL2-JSON, or a 400 that quotes the parser's complaint."""
    lang = (lang or "cql2-text").lower()
    try:
        if lang == "cql2-text":
            expr = cql2.parse_text(text)
        elif lang == "cql2-json":
            expr = cql2.parse_json(text)
        else:
            raise InvalidInput(f"filter-lang: {lang!r} is not supported; use cql2-text or cql2-json")
        return expr.to_json()
    except (cql2.ParseError, cql2.ValidationError, ValueError) as exc:
        message = " ".join(str(exc).split())
        raise InvalidInput(f"filter: not valid {lang}: {message}") from None


@dataclass
class _Sql:
    """SQL text with `%s` placeholders and their values, in order."""

    text: str
    params: list = field(default_factory=list)
    prop: Prop | None = None        # the property this expression is, when it is one
    kind: str = "value"             # value, geometry, temporal, interval, list


class Translator:
    def __init__(self, collection: Collection, filter_crs: ocrs.OgcCrs):
        self.c = collection
        self.crs = filter_crs

    # -- entry point -----------------------------------------------------------------------------

    def where(self, tree: Any) -> tuple[str, list]:
        out = self.node(tree)
        return out.text, out.params

    # -- nodes -----------------------------------------------------------------------------------

    def node(self, n: Any, hint: Prop | None = None) -> _Sql:
        if isinstance(n, dict):
            if "op" in n:
                return self.op(n["op"], n.get("args", []))
            if "property" in n:
                return self.prop(n["property"])
            if "timestamp" in n:
                return _Sql("%s::timestamptz", [_timestamp(n["timestamp"])], kind="temporal")
            if "date" in n:
                return _Sql("%s::date", [_date(n["date"])], kind="temporal")
            if "interval" in n:
                return self.interval(n["interval"])
            if "bbox" in n:
                return self.bbox(n["bbox"])
            if "type" in n:
                return self.geometry(n)
            raise InvalidInput(f"filter: unsupported expression {orjson.dumps(n).decode()[:200]}")
        if isinstance(n, list):
            items = [self.node(v, hint) for v in n]
            return _Sql(", ".join(i.text for i in items), [p for i in items for p in i.params], kind="list")
        if n is None:
            return _Sql("NULL")
        if isinstance(n, bool):
            return _Sql("%s::boolean", [n])
        cast = f"::{hint.sql_type}" if hint is not None and hint.sql_type else ""
        if isinstance(n, (int, float)):
            return _Sql(f"%s{cast or '::numeric'}", [n])
        if isinstance(n, str):
            return _Sql(f"%s{cast or '::text'}", [n])
        raise InvalidInput(f"filter: unsupported literal {n!r}")

    def prop(self, name: str) -> _Sql:
        if name in GEOMETRY_NAMES:
            return _Sql(self.c.geom_sql, kind="geometry")
        if name == "id":
            p = Prop("id", "id", "integer" if self.c.id_type == "integer" else "string", self.c.id_sql)
            return _Sql(p.sql, prop=p)
        p = self.c.prop(name)
        if p is None or not p.queryable:
            raise InvalidInput(f"filter: {name!r} is not a queryable of {self.c.id}; "
                               f"see /ogc/collections/{self.c.id}/queryables")
        if not p.filterable:
            raise InvalidInput(f"filter: {name!r} ({p.json_type}) cannot be filtered on")
        kind = "temporal" if p.json_type in ("date", "date-time") else "value"
        return _Sql(p.sql, prop=p, kind=kind)

    def op(self, op: str, args: list) -> _Sql:
        key = op.lower()
        if key in ("and", "or"):
            parts = [self.node(a) for a in args]
            return _Sql("(" + f" {key.upper()} ".join(f"({p.text})" for p in parts) + ")",
                        [x for p in parts for x in p.params])
        if key == "not":
            inner = self.node(args[0])
            return _Sql(f"(NOT ({inner.text}))", inner.params)
        if key in COMPARISONS:
            lhs, rhs = self._pair(args)
            return _Sql(f"({lhs.text} {COMPARISONS[key]} {rhs.text})", lhs.params + rhs.params)
        if key == "like":
            lhs, rhs = self._pair(args)
            return _Sql(f"({lhs.text}::text LIKE {rhs.text})", lhs.params + rhs.params)
        if key == "between":
            lhs = self.node(args[0])
            lo, hi = self.node(args[1], lhs.prop), self.node(args[2], lhs.prop)
            _scalar(lhs, lo, hi)
            return _Sql(f"({lhs.text} BETWEEN {lo.text} AND {hi.text})", lhs.params + lo.params + hi.params)
        if key == "in":
            lhs = self.node(args[0])
            items = self.node(args[1], lhs.prop)
            _scalar(lhs)
            return _Sql(f"({lhs.text} IN ({items.text}))", lhs.params + items.params)
        if key == "isnull":
            lhs = self.node(args[0])
            return _Sql(f"({lhs.text} IS NULL)", lhs.params)
        if key == "casei":
            inner = self.node(args[0])
            return _Sql(f"lower({inner.text}::text)", inner.params, prop=inner.prop)
        if key in ARITHMETIC:
            lhs, rhs = self._pair(args)
            return _Sql(f"({lhs.text} {ARITHMETIC[key]} {rhs.text})", lhs.params + rhs.params)
        if key in SPATIAL:
            lhs, rhs = self.node(args[0]), self.node(args[1])
            for side in (lhs, rhs):
                if side.kind != "geometry":
                    raise InvalidInput(f"filter: {op} takes geometries (the geometry property or a literal)")
            return _Sql(f"{SPATIAL[key]}({lhs.text}, {rhs.text})", lhs.params + rhs.params)
        if key in TEMPORAL:
            a, b = self._bounds(args[0]), self._bounds(args[1])
            text = TEMPORAL[key].format(a0=a[0].text, a1=a[1].text, b0=b[0].text, b1=b[1].text)
            params = _ordered_params(TEMPORAL[key], a, b)
            return _Sql(f"({text})", params)
        raise InvalidInput(f"filter: {op!r} is not supported (supported: comparisons, LIKE, BETWEEN, IN, "
                           "IS NULL, CASEI, + - * /, S_* spatial and T_* temporal functions)")

    def _pair(self, args: list) -> tuple[_Sql, _Sql]:
        if len(args) != 2:
            raise InvalidInput("filter: a comparison takes two operands")
        lhs = self.node(args[0])
        rhs = self.node(args[1], lhs.prop)
        if lhs.prop is None and rhs.prop is not None:  # literal on the left: type it from the right
            lhs = self.node(args[0], rhs.prop)
        _scalar(lhs, rhs)
        return lhs, rhs

    # -- temporal --------------------------------------------------------------------------------

    def _bounds(self, n: Any) -> tuple[_Sql, _Sql]:
        s = self.node(n)
        if s.kind == "interval":
            return s.params[0], s.params[1]  # type: ignore[return-value]
        if s.kind != "temporal":
            raise InvalidInput("filter: temporal functions take date/time properties, "
                               "TIMESTAMP, DATE or INTERVAL")
        return s, s

    def interval(self, ends: list) -> _Sql:
        if len(ends) != 2:
            raise InvalidInput("filter: INTERVAL takes two ends")
        bounds = []
        for end, open_value in zip(ends, ("-infinity", "infinity"), strict=True):
            if end == "..":
                bounds.append(_Sql(f"'{open_value}'::timestamptz"))
            elif isinstance(end, str):
                value = _date(end) if len(end) == 10 else _timestamp(end)
                bounds.append(_Sql("%s::timestamptz", [value]))
            else:
                bounds.append(self.node(end))
        return _Sql("", bounds, kind="interval")

    # -- spatial literals ------------------------------------------------------------------------

    def geometry(self, geojson: dict) -> _Sql:
        try:
            geom = shapely.from_geojson(orjson.dumps(geojson))
        except Exception as exc:
            raise InvalidInput(f"filter: invalid geometry literal: {exc}") from None
        text, params = ocrs.geometry_param(geom, self.crs, flipped=True)
        return _Sql(text, params, kind="geometry")

    def bbox(self, values: list) -> _Sql:
        nums = [float(v) for v in values]
        if len(nums) == 6:
            nums = [nums[0], nums[1], nums[3], nums[4]]
        if len(nums) != 4:
            raise InvalidInput("filter: BBOX takes 4 or 6 numbers")
        text, params = ocrs.geometry_param(shapely.box(*nums), self.crs, flipped=True)
        return _Sql(text, params, kind="geometry")


def _scalar(*parts: _Sql) -> None:
    for part in parts:
        if part.kind in ("interval", "geometry"):
            raise InvalidInput(f"filter: a {part.kind} cannot be compared that way; use the T_* or S_* functions")


def _ordered_params(template: str, a: tuple[_Sql, _Sql], b: tuple[_Sql, _Sql]) -> list:
    """The parameters of a TEMPORAL template in the order its placeholders appear."""
    import re

    table = {"a0": a[0], "a1": a[1], "b0": b[0], "b1": b[1]}
    return [p for name in re.findall(r"\{(\w+)\}", template) for p in table[name].params]


def _timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"filter: {text!r} is not an RFC 3339 timestamp") from None
    if value.tzinfo is None:
        raise InvalidInput(f"filter: timestamp {text!r} needs a time zone (e.g. Z)")
    return value


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"filter: {text!r} is not a date (YYYY-MM-DD)") from None


def to_sql(collection: Collection, text: str, lang: str | None, filter_crs: ocrs.OgcCrs) -> tuple[str, list]:
    """A filter in either encoding -> (SQL boolean expression over `t`, parameters)."""
    tree = parse(text, lang)
    return Translator(collection, filter_crs).where(tree)
