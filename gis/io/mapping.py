"""From a file's fields to a layer's columns: name matching and value conversion, row problems recorded.

Values arrive as whatever the reader produced (strings from CSV, numbers and strings from GDAL) and leave
as Python values psycopg can COPY (str, int, float, date, datetime, list[str], dict). A value that cannot
be converted becomes NULL and its row gets a reason naming the field and the value.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from gis.errors import ImportRejected
from gis.io.layers import Field, LayerSpec, norm
from gis.io.readers import RawTable
from gis.settings import get_settings


@dataclass
class Mapped:
    """Converted columns of one layer: `columns[c]` is a list with one value per row, or absent."""

    columns: dict[str, list[Any]]
    source_names: dict[str, str]                       # column -> the file field it came from
    errors: dict[int, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class _Bad(Exception):
    pass


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float | np.floating):
        if math.isnan(v):
            return None
        if float(v).is_integer():
            return str(int(v))
    if isinstance(v, bytes):
        v = v.decode("utf-8", errors="replace")
    s = str(v).strip()
    return s or None


def _int(v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        if math.isnan(v):
            return None
        if float(v).is_integer():
            return int(v)
        raise _Bad("is not a whole number")
    s = str(v).strip()
    if not s:
        return None
    try:
        f = float(s)
    except ValueError:
        raise _Bad("is not a whole number") from None
    if not f.is_integer():
        raise _Bad("is not a whole number")
    return int(f)


def _float(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        if isinstance(v, str) and not v.strip():
            return None
        raise _Bad("is not a number") from None
    if math.isnan(f):
        return None
    if math.isinf(f):
        raise _Bad("is not a finite number")
    return f


_DATE_RE = re.compile(r"^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})(?:[T ].*)?$")


def _date(v: Any) -> dt.date | None:
    s = _text(v)
    if s is None:
        return None
    m = _DATE_RE.match(s)
    if m and (len(s) != 8 or s.isdigit()):
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            pass
    raise _Bad("is not a date (YYYYMMDD or YYYY-MM-DD)")


def _timestamp(v: Any) -> dt.datetime | None:
    s = _text(v)
    if s is None:
        return None
    try:
        t = dt.datetime.fromisoformat(s.replace("/", "-"))
    except ValueError:
        try:
            d = _date(s)
        except _Bad:
            raise _Bad("is not a date-time (ISO 8601)") from None
        t = dt.datetime(d.year, d.month, d.day)
    if t.tzinfo is None:  # local time of the district
        t = t.replace(tzinfo=ZoneInfo(get_settings().timezone))
    return t


def _textarr(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list | tuple | np.ndarray):
        return [t for t in (_text(x) for x in v) if t]
    s = _text(v)
    if s is None:
        return []
    if s.startswith("["):
        try:
            return _textarr(json.loads(s))
        except (ValueError, TypeError):
            pass
    s = s.strip("{}｛｝")
    return [p.strip() for p in s.split("/") if p.strip()]


def _json(v: Any) -> dict | None:
    if v is None:
        return None
    if isinstance(v, dict):
        return v
    s = _text(v)
    if s is None:
        return None
    try:
        obj = json.loads(s)
    except ValueError:
        raise _Bad("is not JSON") from None
    if not isinstance(obj, dict):
        raise _Bad("is not a JSON object")
    return obj


def _bool(v: Any) -> bool | None:
    s = _text(v)
    if s is None:
        return None
    if s.lower() in _TRUE:
        return True
    if s.lower() in _FALSE:
        return False
    raise _Bad("is not a yes/no value (true/false, 1/0, 是/否)")


_TRUE = {"true", "t", "yes", "y", "1", "是", "在线", "有"}
_FALSE = {"false", "f", "no", "n", "0", "否", "离线", "无"}

CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "bool": _bool, "text": _text, "code": _text, "int": _int, "float": _float, "date": _date, "timestamp": _timestamp,
    "textarr": _textarr, "json": _json, "wkt": _text,
}


def _choice_map(f: Field) -> dict[str, str]:
    out: dict[str, str] = {}
    for canonical, synonyms in (f.choices or {}).items():
        out[canonical.lower()] = canonical
        for s in synonyms:
            out[s.lower()] = canonical
    return out


def _convert(values: NDArray, f: Field, source: str, errors: dict[int, list[str]]) -> list[Any]:
    conv = CONVERTERS[f.type]
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if f.type in ("text", "code") and not f.choices:   # fast path: strings and missing values
        return [(v.strip() or None) if v.__class__ is str else (None if v is None else _text(v)) for v in items]
    out: list[Any] = []
    choices = _choice_map(f) if f.choices else None
    for i, v in enumerate(items):
        try:
            x = conv(v)
        except _Bad as exc:
            errors.setdefault(i, []).append(f"{source} {str(v)[:40]!r} {exc}")
            x = [] if f.type == "textarr" else None
        if choices is not None and x is not None:
            c = choices.get(str(x).lower())
            if c is None:
                errors.setdefault(i, []).append(
                    f"{source} {x!r} is not one of {', '.join(f.choices)}")  # type: ignore[arg-type]
            x = c
        out.append(x)
    return out


@lru_cache(maxsize=256)
def _matching(spec: LayerSpec, names: tuple[str, ...]) -> tuple[tuple[tuple[Field, int], ...], tuple[int, ...],
                                                                  tuple[Field, ...]]:
    """Which of the file's fields (by index) each column takes, the indices no column takes, and the
    required columns without a field. A function of the layer and the names alone, so cached: the
    bodies of Part 4 writes repeat a few key sets, and matching them was half of a write's `prepare`."""
    by_norm: dict[str, int] = {}
    for i, name in enumerate(names):
        by_norm.setdefault(norm(name), i)
    used: set[int] = set()
    taken: list[tuple[Field, int]] = []
    for f in spec.fields:
        for name in f.accepted_names():
            i = by_norm.get(norm(name))
            if i is not None and i not in used:
                used.add(i)
                taken.append((f, i))
                break
    found = {f.column for f, _ in taken}
    missing = tuple(f for f in spec.fields if f.required and f.column not in found and f.column not in _DERIVABLE)
    return tuple(taken), tuple(i for i in range(len(names)) if i not in used), missing


def map_fields(raw: RawTable, spec: LayerSpec) -> Mapped:
    """Matches the file's fields to the layer's columns and converts every value."""
    taken, unused, missing = _matching(spec, tuple(str(name) for name in raw.fields))
    errors: dict[int, list[str]] = {}
    columns: dict[str, list[Any]] = {}
    sources: dict[str, str] = {}
    for f, i in taken:
        sources[f.column] = raw.fields[i]
        columns[f.column] = _convert(raw.values[i], f, raw.fields[i], errors)
    if missing:
        names = "; ".join(f"{f.column} (one of {', '.join(dict.fromkeys(f.accepted_names()))})" for f in missing)
        raise ImportRejected(f"the file has no field for the required column(s) {names}", rows=[],
                             code="missing_columns",
                             extra={"missing": [{"column": f.column, "title": f.title} for f in missing]})
    warnings: list[str] = []
    if unused and spec.extra_json:
        extra = [{raw.fields[i]: _jsonable(raw.values[i][r]) for i in unused
                  if _jsonable(raw.values[i][r]) is not None} for r in range(raw.n)]
        base = columns.get(spec.extra_json)
        columns[spec.extra_json] = [{**(e or {}), **(b or {})} for e, b in zip(extra, base or [None] * raw.n,
                                                                                 strict=True)]
        sources.setdefault(spec.extra_json, ", ".join(raw.fields[i] for i in unused))
    elif unused:
        warnings.append("fields ignored (no column of layer {} takes them): {}".format(
            spec.name, ", ".join(raw.fields[i] for i in unused)))
    for c, vals in columns.items():
        if spec.get_field(c).required:
            for r in (i for i, v in enumerate(vals) if v is None or v == []):
                if r not in errors or not any(e.startswith(sources[c]) for e in errors[r]):
                    errors.setdefault(r, []).append(f"missing required field {sources[c]}")
    return Mapped(columns, sources, errors, warnings)


#: Required columns the loader can derive from others (e.g. components.major from the id).
_DERIVABLE: frozenset[str] = frozenset()

_LEVELS = {6: "district", 9: "street", 12: "community"}
_HOUSE_NUM = re.compile(r"^\s*([0-9]{1,9})")


def _fill(columns: dict[str, list[Any]], column: str, n: int, make: Callable[[int], Any]) -> None:
    """Fills the empty values of `column` with make(row)."""
    vals = columns.get(column) or [None] * n
    columns[column] = [make(i) if v is None else v for i, v in enumerate(vals)]


def _region_level(code: list[Any], n: int) -> Callable[[int], Any]:
    return lambda i: _LEVELS.get(len(code[i] or ""))


def _region_parent(code: list[Any], n: int) -> Callable[[int], Any]:
    return lambda i: code[i][:-3] if len(code[i] or "") in (9, 12) else None


def _leading_number(names: list[Any], n: int) -> Callable[[int], Any]:
    def num(i: int) -> int | None:
        m = _HOUSE_NUM.match(names[i] or "")
        return int(m.group(1)) if m else None
    return num


#: Derivations a catalog field may name: ("name", source column, *arguments) -> value maker per row.
DERIVATIONS: dict[str, Callable[..., Callable[[int], Any]]] = {
    "region_level": _region_level,
    "region_parent": _region_parent,
    "leading_number": _leading_number,
    # ("slice", source, start, stop[, shortest]): a segment of a code, when the code is long enough
    "slice": lambda src, n, start, stop, shortest=1: (
        lambda i: src[i][start:stop] if len(src[i] or "") >= shortest else None),
}


def derive(spec: LayerSpec, columns: dict[str, list[Any]], n: int) -> None:
    """Columns a file may leave out because its codes imply them (parent codes, 大类/小类, house number).

    A value the file does give is kept; the checks then compare it with what the code implies.
    """
    for f in spec.fields:
        if f.derive is None:
            continue
        how, source, *args = f.derive
        if source not in columns:
            continue
        _fill(columns, f.column, n, DERIVATIONS[how](columns[source], n, *args))
        if how == "region_parent":  # a district has no parent in this schema (a city code given for it is dropped)
            code = columns[source]
            columns[f.column] = [None if len(c or "") == 6 else p for c, p in zip(code, columns[f.column],
                                                                                 strict=True)]


def duplicates(spec: LayerSpec, columns: dict[str, list[Any]], n: int, errors: dict[int, list[str]]) -> None:
    """Rows repeating the key of an earlier row of the same file."""
    parts = [columns.get(k) or [None] * n for k in spec.key]
    label = "/".join(spec.get_field(k).export_name for k in spec.key)
    first: dict[tuple, int] = {}
    for i, key in enumerate(zip(*parts, strict=True)):
        if any(k is None for k in key):
            continue
        j = first.setdefault(key, i)
        if j != i:
            errors.setdefault(i, []).append(f"duplicate {label} {'/'.join(map(str, key))} (first on row {j + 1})")


def _jsonable(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, str):
        return v.strip() or None
    if isinstance(v, int | float | bool):
        return v
    return str(v)
