"""Every code of standards.md §1: parse (pure), validate against the database, build, allocate.

Kinds by length: 6 district, 9 street, 12 community *or* evaluation grid, 15 unit grid, 10 component
*or* event type, 16 component id. Codes are digit strings (leading zeros matter), so they are never
converted to integers. Ambiguous lengths yield every interpretation the digits allow; `validate` keeps
those whose parents exist and, when one of them names a stored object and the other not, the stored one.

Errors name the segment at fault, e.g. "street segment 999 of 310113999001005 does not exist".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import psycopg

from gis.errors import Conflict, InvalidCode

#: Province prefixes of GB/T 2260 (the first two digits of every administrative code).
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82",
})
COMPONENT_MAJORS = {"01": "公用设施", "02": "交通设施", "03": "市容环境设施", "04": "园林绿化设施", "05": "其他部件"}
EVENT_MAJORS = {
    "01": "市容环境", "02": "宣传广告", "03": "施工管理", "04": "街面秩序", "05": "突发事件", "06": "其他事件",
}

KIND_LABEL = {
    "district": "district", "street": "street", "community": "community", "unit_grid": "unit grid",
    "eval_grid": "evaluation grid", "component_type": "component type", "event_type": "event type",
    "component": "component",
}
LENGTH_KINDS: dict[int, tuple[str, ...]] = {
    6: ("district",), 9: ("street",), 12: ("community", "eval_grid"), 15: ("unit_grid",),
    10: ("component_type", "event_type"), 16: ("component",),
}
#: (segment name, start, end) per kind; "sequence" is the code's own number under its parent.
LAYOUT: dict[str, tuple[tuple[str, int, int], ...]] = {
    "district": (("district", 0, 6),),
    "street": (("district", 0, 6), ("street", 6, 9)),
    "community": (("district", 0, 6), ("street", 6, 9), ("community", 9, 12)),
    "unit_grid": (("district", 0, 6), ("street", 6, 9), ("community", 9, 12), ("sequence", 12, 15)),
    "eval_grid": (("district", 0, 6), ("street", 6, 9), ("sequence", 9, 12)),
    "component_type": (("district", 0, 6), ("major", 6, 8), ("minor", 8, 10)),
    "event_type": (("district", 0, 6), ("major", 6, 8), ("minor", 8, 10)),
    "component": (("district", 0, 6), ("major", 6, 8), ("minor", 8, 10), ("sequence", 10, 16)),
}
#: Parent (prefix length) and sequence width of the kinds that `allocate` can number.
SEQUENCED: dict[str, tuple[int, int]] = {
    "street": (6, 3), "community": (9, 3), "unit_grid": (12, 3), "eval_grid": (9, 3), "component": (10, 6),
}


@dataclass(frozen=True)
class Segment:
    name: str           # district, street, community, sequence, major, minor
    value: str
    label: str | None = None   # resolved name (区/街道/社区 name, 大类/小类 name), when known

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "label": self.label}


@dataclass(frozen=True)
class ParsedCode:
    """One interpretation of a code: its kind and segments (plus, after `validate`, names and existence)."""

    code: str
    kind: str
    segments: tuple[Segment, ...]
    exists: bool | None = None     # whether the coded object itself is stored (None: not checked)
    name: str | None = None        # its own name when stored
    extra: dict[str, Any] = field(default_factory=dict)

    def segment(self, name: str) -> str:
        return next(s.value for s in self.segments if s.name == name)

    @property
    def parent(self) -> str | None:
        prefix = SEQUENCED.get(self.kind)
        if prefix:
            return self.code[: prefix[0]]
        return self.code[:6] if self.kind in ("component_type", "event_type") else None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "kind": self.kind, "exists": self.exists, "name": self.name,
                "segments": [s.as_dict() for s in self.segments], **self.extra}


def _fail(message: str, code: str, kind: str | None = None) -> InvalidCode:
    return InvalidCode(message, extra={"value": code, **({"kind": kind} if kind else {})})


def _check_digits(code: str) -> str:
    if not isinstance(code, str):
        raise _fail(f"a code must be a string of digits, got {type(code).__name__}", str(code))
    text = code.strip()
    if not text:
        raise _fail("the code is empty", code)
    if not text.isascii() or not text.isdigit():
        bad = next(ch for ch in text if not (ch.isascii() and ch.isdigit()))
        raise _fail(f"code {text!r} contains {bad!r}: codes are digits only", text)
    if len(text) not in LENGTH_KINDS:
        raise _fail(f"code {text} has {len(text)} digits: expected 6 (district), 9 (street), 12 (community or "
                    "evaluation grid), 15 (unit grid), 10 (component/event type) or 16 (component id)", text)
    return text


def _segment_error(kind: str, code: str) -> str | None:
    """The first segment that is malformed on its own (no database), as a message, or None."""
    segs = {name: code[a:b] for name, a, b in LAYOUT[kind]}
    if segs["district"][:2] not in PROVINCES:
        return f"district segment {segs['district']} of {code} has no GB/T 2260 province {segs['district'][:2]}"
    for name in ("street", "community", "sequence"):
        if name in segs and set(segs[name]) == {"0"}:
            return f"{name} segment {segs[name]} of {code} is zero: sequences start at {'0' * (len(segs[name]) - 1)}1"
    if "major" in segs:
        majors = EVENT_MAJORS if kind == "event_type" else COMPONENT_MAJORS
        if segs["major"] not in majors:
            what = "event" if kind == "event_type" else "component"
            return (f"major segment {segs['major']} of {code} is not a {what} 大类 "
                    f"({', '.join(f'{k} {v}' for k, v in majors.items())})")
        if segs["minor"] == "00":
            return f"minor segment 00 of {code} is not a 小类 (01–79 standard, 80–99 local)"
    return None


def parse(code: str) -> list[ParsedCode]:
    """Every well-formed interpretation of `code`, without the database. Raises InvalidCode naming the
    segment at fault when none is well-formed."""
    text = _check_digits(code)
    found: list[ParsedCode] = []
    errors: list[str] = []
    for kind in LENGTH_KINDS[len(text)]:
        problem = _segment_error(kind, text)
        if problem:
            errors.append(problem)
            continue
        segs = tuple(Segment(name, text[a:b]) for name, a, b in LAYOUT[kind])
        major_names = EVENT_MAJORS if kind == "event_type" else COMPONENT_MAJORS
        segs = tuple(replace(s, label=major_names[s.value]) if s.name == "major" else s for s in segs)
        found.append(ParsedCode(text, kind, segs))
    if not found:
        raise _fail(errors[0] if len(set(errors)) == 1 else "; ".join(dict.fromkeys(errors)), text)
    return found


def parse_as(code: str, kind: str) -> ParsedCode:
    """The interpretation of `code` as `kind` (e.g. a 12-digit code read as an evaluation grid)."""
    text = _check_digits(code)
    if kind not in LAYOUT:
        raise _fail(f"unknown code kind {kind!r}", text)
    if kind not in LENGTH_KINDS[len(text)]:
        need = next(n for n, kinds in LENGTH_KINDS.items() if kind in kinds)
        raise _fail(f"a {KIND_LABEL[kind]} code has {need} digits, {text} has {len(text)}", text, kind)
    problem = _segment_error(kind, text)
    if problem:
        raise _fail(problem, text, kind)
    return next(p for p in parse(text) if p.kind == kind)


# -- validation against the database -------------------------------------------------------------


def _area_names(conn: psycopg.Connection, codes: list[str]) -> dict[str, tuple[str, str]]:
    rows = conn.execute("SELECT code, level, name FROM admin_areas WHERE code = ANY(%s)", (codes,)).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def _resolve(conn: psycopg.Connection, p: ParsedCode) -> ParsedCode:
    """Names the segments of one interpretation, checks its parents; raises InvalidCode on a missing parent."""
    code = p.code
    d = p.segment("district")
    prefixes = {"district": d}
    if any(s.name == "street" for s in p.segments):
        prefixes["street"] = code[:9]
    if p.kind in ("community", "unit_grid"):
        prefixes["community"] = code[:12]
    names = _area_names(conn, list(prefixes.values()))
    labels: dict[str, str | None] = {}
    own = p.kind in ("district", "street", "community")
    for level, prefix in prefixes.items():
        is_self = own and len(prefix) == len(code)
        if prefix in names:
            if names[prefix][0] != level:
                raise _fail(f"{level} segment {prefix[-3:] if level != 'district' else prefix} of {code}: "
                            f"area {prefix} is a {names[prefix][0]}, not a {level}", code, p.kind)
            labels[level] = names[prefix][1]
        elif not is_self:
            value = prefix if level == "district" else prefix[-3:]
            raise _fail(f"{level} segment {value} of {code} does not exist", code, p.kind)
    segs = list(p.segments)
    for i, s in enumerate(segs):
        if s.name in labels:
            segs[i] = replace(s, label=labels[s.name])
    exists, name = False, None
    extra: dict[str, Any] = {}
    if own:
        exists = code in names
        name = names[code][1] if exists else None
    elif p.kind == "unit_grid":
        row = conn.execute("SELECT name, eval_code FROM unit_grids WHERE code = %s", (code,)).fetchone()
        exists, name = row is not None, row[0] if row else None
        if row:
            extra["eval_grid"] = row[1]
    elif p.kind == "eval_grid":
        row = conn.execute("SELECT name, area_class FROM eval_grids WHERE code = %s", (code,)).fetchone()
        exists, name = row is not None, row[0] if row else None
        if row:
            extra["area_class"] = row[1]
    elif p.kind in ("component_type", "event_type", "component"):
        kind = "event" if p.kind == "event_type" else "component"
        major, minor = p.segment("major"), p.segment("minor")
        row = conn.execute("SELECT major_name, name FROM categories WHERE kind = %s AND major = %s AND minor = %s",
                           (kind, major, minor)).fetchone()
        if row is None:
            raise _fail(f"minor segment {minor} of {code} is not a {kind} 小类 of 大类 {major} "
                        f"({(EVENT_MAJORS if kind == 'event' else COMPONENT_MAJORS)[major]})", code, p.kind)
        segs = [replace(s, label=row[1]) if s.name == "minor" else s for s in segs]
        if p.kind == "component":
            crow = conn.execute("SELECT name, unit_grid_code FROM components WHERE id = %s", (code,)).fetchone()
            exists, name = crow is not None, crow[0] if crow else None
            if crow:
                extra["unit_grid"] = crow[1]
        else:
            exists, name = True, row[1]
    return replace(p, segments=tuple(segs), exists=exists, name=name, extra=extra)


def validate(conn: psycopg.Connection, code: str, kind: str | None = None) -> list[ParsedCode]:
    """The valid interpretations of `code` (best first), with segment names and whether it is stored.

    Parents must exist. For an ambiguous code, an interpretation that names a stored object wins over one
    that does not; when both or neither are stored, both are answered. Raises InvalidCode otherwise.
    """
    candidates = [parse_as(code, kind)] if kind else parse(code)
    valid: list[ParsedCode] = []
    errors: list[str] = []
    for p in candidates:
        try:
            valid.append(_resolve(conn, p))
        except InvalidCode as exc:
            errors.append(exc.detail)
    if not valid:
        text = code.strip()
        raise _fail(errors[0] if len(set(errors)) == 1 else "; ".join(dict.fromkeys(errors)), text,
                    candidates[0].kind if len(candidates) == 1 else None)
    stored = [p for p in valid if p.exists]
    if stored and len(stored) < len(valid):
        return stored
    return valid


def check_parent_contains(conn: psycopg.Connection, code: str, geom_wkb: bytes) -> None:
    """A unit grid's (or community's) geometry must lie in the area its code names: the area holding
    most of the geometry has to be the code's parent. Raises InvalidCode naming the segment."""
    p = next(x for x in parse(code) if x.kind in ("unit_grid", "community", "street"))
    parent_len = {"unit_grid": 12, "community": 9, "street": 6}[p.kind]
    level = {12: "community", 9: "street", 6: "district"}[parent_len]
    row = conn.execute(
        """SELECT a.code FROM admin_areas a, (SELECT ST_GeomFromWKB(%s, 4490) AS g) x
           WHERE a.level = %s AND ST_Intersects(a.geom, x.g)
           ORDER BY ST_Area(ST_Intersection(a.geom, x.g)) DESC, a.code LIMIT 1""",
        (geom_wkb, level),
    ).fetchone()
    expected = code[:parent_len]
    if row is None:
        raise _fail(f"{level} segment {expected[-3:] if parent_len > 6 else expected} of {code}: the geometry "
                    f"lies in no {level}", code, p.kind)
    if row[0] != expected:
        raise _fail(f"{level} segment {expected[-3:] if parent_len > 6 else expected} of {code} disagrees with the "
                    f"geometry, which lies in {level} {row[0]}", code, p.kind)


# -- building and allocating ---------------------------------------------------------------------


def build(kind: str, parent: str, seq: int) -> str:
    """The code of kind `kind` numbered `seq` under `parent` (e.g. build("unit_grid", "310113003001", 5))."""
    if kind not in SEQUENCED:
        raise _fail(f"codes of kind {kind!r} are not numbered under a parent", parent)
    plen, width = SEQUENCED[kind]
    if len(parent) != plen or not parent.isdigit():
        raise _fail(f"the parent of a {KIND_LABEL[kind]} code has {plen} digits, got {parent!r}", parent, kind)
    if not 1 <= seq < 10**width:
        raise _fail(f"sequence {seq} does not fit the {width}-digit sequence of a {KIND_LABEL[kind]} code",
                    parent, kind)
    code = f"{parent}{seq:0{width}d}"
    parse_as(code, kind)
    return code


def _stored_max(conn: psycopg.Connection, kind: str, parent: str) -> int:
    plen, width = SEQUENCED[kind]
    table, column, extra = {
        "street": ("admin_areas", "code", "AND level = 'street'"),
        "community": ("admin_areas", "code", "AND level = 'community'"),
        "unit_grid": ("unit_grids", "code", ""),
        "eval_grid": ("eval_grids", "code", ""),
        "component": ("components", "id", ""),
    }[kind]
    lo, hi = parent + "0" * width, parent + "9" * width
    row = conn.execute(
        f"SELECT max({column}) FROM {table} WHERE {column} BETWEEN %s AND %s "  # fixed table/column names
        f"AND length({column}) = %s {extra}",
        (lo, hi, plen + width),
    ).fetchone()
    return int(row[0][plen:]) if row and row[0] else 0


def allocate(conn: psycopg.Connection, kind: str, parent: str, count: int = 1) -> list[str]:
    """Reserves the next `count` free codes of `kind` under `parent` and returns them.

    One upsert on `code_sequences` does it: its row lock serialises concurrent callers, and the counter
    starts above the highest code already stored, so two callers never get the same number even before
    either has inserted its row. Numbers reserved by a rolled-back transaction are given back.
    """
    if count < 1:
        raise _fail(f"count must be at least 1, got {count}", parent)
    width = SEQUENCED[kind][1]
    build(kind, parent, 1)  # validates the parent's shape
    stored = _stored_max(conn, kind, parent)
    row = conn.execute(
        """INSERT INTO code_sequences (kind, parent, last_seq) VALUES (%(k)s, %(p)s, %(s)s + %(n)s)
           ON CONFLICT (kind, parent) DO UPDATE
           SET last_seq = greatest(code_sequences.last_seq, %(s)s) + %(n)s
           RETURNING last_seq""",
        {"k": kind, "p": parent, "s": stored, "n": count},
    ).fetchone()
    last = row[0]
    if last >= 10**width:
        raise Conflict(f"no free {KIND_LABEL[kind]} sequence left under {parent} (the {width}-digit sequence "
                       f"is exhausted)")
    return [f"{parent}{seq:0{width}d}" for seq in range(last - count + 1, last + 1)]
