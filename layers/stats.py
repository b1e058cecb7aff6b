"""Case and alarm statistics (数图联动, issue 19): counts by source, category, area level, status and
period, with 同比 (yoy) and 环比 (mom), shares, and the top groups (高发问题, 多发区域, 多发路段).

Why one grouped scan: the page asks for many breakdowns of the same range; each is one GROUP BY over
`cases` (an index-only scan of `cases_stats_idx`, migration 0008) with the area levels taken from the
prefixes of `cases.unit_grid_code` (as layers/choropleth does) — no spatial join. Periods are buckets
of the district's local calendar (a day is a local day), so the figures match what a duty officer
calls "today". Cases with no grid or no source are counted under a null value, so the counts of one
answer always add up to the number of cases in the range (the OGC `numberMatched`).

Answers are cached against the change counters of the tables read (layers/cache.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg

from gis import catalog
from gis.catalog.vocab import CASE_KINDS, CASE_SOURCES, CASE_STATUSES, VEHICLE_KINDS
from gis.errors import InvalidInput
from gis.fences.kinds import ALARM_KINDS
from gis.params import district_tz
from gis.security import scope
from gis.security.scope import Area

from .cache import LayerCache, get_or_compute


@dataclass(frozen=True)
class Group:
    """One grouping: the output keys and the SQL expressions giving them."""

    keys: tuple[str, ...]
    exprs: tuple[str, ...]
    join: str = ""


CASE_GROUPS: dict[str, Group] = {
    "source": Group(("source",), ("c.source",)),
    "kind": Group(("kind",), ("c.kind",)),
    "category": Group(("major", "minor"), ("c.major", "c.minor")),
    "major": Group(("major",), ("c.major",)),
    # 小类 codes are unique only within their 大类: the 大类 is part of the answer.
    "minor": Group(("major", "minor"), ("c.major", "c.minor")),
    "street": Group(("street",), ("left(c.unit_grid_code, 9)",)),
    "community": Group(("community",), ("left(c.unit_grid_code, 12)",)),
    "unit_grid": Group(("unit_grid",), ("c.unit_grid_code",)),
    "eval_grid": Group(("eval_grid",), ("ug.eval_code",), "LEFT JOIN unit_grids ug ON ug.code = c.unit_grid_code"),
    "status": Group(("status",), ("c.status",)),
}

ALARM_GROUPS: dict[str, Group] = {
    "kind": Group(("kind",), ("a.kind",)),
    "vehicle": Group(("vehicle",), ("a.vehicle_id",)),
    "vehicle_kind": Group(("vehicle_kind",), ("v.kind",), "LEFT JOIN vehicles v ON v.id = a.vehicle_id"),
    "state": Group(("state",), ("CASE WHEN a.\"end\" IS NULL THEN 'open' ELSE 'closed' END",)),
    "fence": Group(("fence",), ("a.fence_id",)),
    # 多发路段: the nearest street within ~50 m of where the alarm began.
    "road": Group(("road",), ("r.name",),
                  "LEFT JOIN LATERAL (SELECT s.name FROM streets s WHERE a.geom IS NOT NULL "
                  "AND ST_DWithin(s.geom, a.geom, 0.0005) ORDER BY s.geom <-> a.geom LIMIT 1) r ON TRUE"),
    "street": Group(("street",), ("ua.code",),
                    "LEFT JOIN LATERAL (SELECT ad.code FROM admin_areas ad WHERE ad.level = 'street' "
                    "AND a.geom IS NOT NULL AND ST_Intersects(ad.geom, a.geom) LIMIT 1) ua ON TRUE"),
}

PERIODS = ("day", "week", "month", "quarter", "year")
COMPARES = ("yoy", "mom")
#: How far back the 环比 of one period reaches (months are calendar months of the local calendar).
MOM_SHIFT = {"day": (0, 1), "week": (0, 7), "month": (1, 0), "quarter": (3, 0), "year": (12, 0)}
#: 同比: the same period a year before (a week: 52 weeks before, so it stays a Monday).
YOY_SHIFT = {"day": (12, 0), "week": (0, 364), "month": (12, 0), "quarter": (12, 0), "year": (12, 0), None: (12, 0)}

CASE_TABLES = ("cases", "categories", "unit_grids", "eval_grids", "admin_areas")
ALARM_TABLES = ("alarms", "vehicles", "streets", "fences", "admin_areas", "fleet_areas")


def parse_groups(values: Sequence[str], allowed: dict[str, Group]) -> list[str]:
    """`group` values (repeated or comma-separated), checked, duplicates dropped, order kept."""
    out: list[str] = []
    for v in values:
        for g in (x.strip() for x in v.split(",")):
            if not g:
                continue
            if g not in allowed:
                raise InvalidInput(f"group must be among {', '.join(allowed)}, got {g!r}")
            if g not in out:
                out.append(g)
    return out


def _shift(t: datetime, months: int, days: int) -> datetime:
    """`t` moved back by calendar months and days in the district's local calendar."""
    local = t.astimezone(district_tz())
    y, m = divmod(local.year * 12 + local.month - 1 - months, 12)
    day = min(local.day, _month_days(y, m + 1))
    # Wall-clock arithmetic: midnight stays midnight across a change of UTC offset.
    return local.replace(year=y, month=m + 1, day=day) - timedelta(days=days)


def _month_days(year: int, month: int) -> int:
    nxt = datetime(year + (month == 12), month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _bucket(period: str | None) -> str:
    if period is None:
        return "NULL::timestamp"
    return f"date_trunc('{period}', {{time}} AT TIME ZONE %(tz)s)"


def _grouped(conn: psycopg.Connection, *, table: str, alias: str, time_col: str, groups: list[str],
             allowed: dict[str, Group], period: str | None, start: datetime | None, stop: datetime | None,
             where: list[str], params: dict[str, Any], shift: tuple[int, int] | None = None
             ) -> dict[tuple, int]:
    """{(group values…, local period start): count} over [start, stop) (moved back by `shift`)."""
    gs = [allowed[g] for g in groups]
    exprs = [e for g in gs for e in g.exprs]
    joins = " ".join(dict.fromkeys(g.join for g in gs if g.join))
    conds = list(where)
    p = dict(params, tz=str(district_tz()))
    if start is not None:
        p["start"] = _shift(start, *shift) if shift else start
        conds.append(f"{alias}.{time_col} >= %(start)s")
    if stop is not None:
        p["stop"] = _shift(stop, *shift) if shift else stop
        conds.append(f"{alias}.{time_col} < %(stop)s")
    bucket = _bucket(period).format(time=f"{alias}.{time_col}")
    if shift and period is not None:
        # The previous period is reported under the period it is compared with.
        bucket = f"(date_trunc('{period}', ({alias}.{time_col} AT TIME ZONE %(tz)s) " \
                 f"+ make_interval(months => {shift[0]}, days => {shift[1]})))"
    cols = [*exprs, bucket]
    n = len(cols)
    sql = (f"SELECT {', '.join(cols)}, count(*) FROM {table} {alias} {joins} "
           f"{'WHERE ' + ' AND '.join(conds) if conds else ''} GROUP BY {', '.join(str(i + 1) for i in range(n))}")
    return {tuple(r[:n]): int(r[n]) for r in conn.execute(sql, p).fetchall()}


#: Groupings the daily rollup (migration 0008) answers: grouping -> (dimension, how a value becomes the keys).
ROLLUP_DIMS: dict[str, str] = {"source": "source", "kind": "kind", "major": "major", "minor": "minor",
                               "category": "minor", "status": "status", "street": "street",
                               "community": "community", "unit_grid": "unit_grid", "eval_grid": "unit_grid"}


def _local_day(t: datetime | None) -> Any:
    """The local date of `t` when `t` is a local midnight (else False: the rollup cannot answer)."""
    if t is None:
        return None
    local = t.astimezone(district_tz())
    if (local.hour, local.minute, local.second, local.microsecond) != (0, 0, 0, 0):
        return False
    return local.date()


def _rollup_usable(conn: psycopg.Connection, groups: list[str], where: list[str], start: datetime | None,
                   stop: datetime | None, shift: tuple[int, int] | None) -> bool:
    """One grouping (or none), no filter, whole local days, and the rollup counts days of the district's zone."""
    if len(groups) > 1 or where or (groups and groups[0] not in ROLLUP_DIMS):
        return False
    for t in (start, stop):
        if t is not None and (_local_day(t) is False or (shift and _local_day(_shift(t, *shift)) is False)):
            return False
    row = conn.execute("SELECT tz FROM case_stats_zone").fetchone()
    return row is not None and row[0] == str(district_tz())


def _grouped_rollup(conn: psycopg.Connection, group: str | None, period: str | None, start: datetime | None,
                    stop: datetime | None, shift: tuple[int, int] | None = None) -> dict[tuple, int]:
    """As `_grouped` over cases, from the daily rollup: a few thousand rows instead of every case."""
    dim = ROLLUP_DIMS[group] if group else "all"
    p: dict[str, Any] = {"dim": dim}
    lo = _local_day(_shift(start, *shift) if shift and start else start)
    hi = _local_day(_shift(stop, *shift) if shift and stop else stop)
    conds = ["r.dim = %(dim)s"]
    if lo is not None:
        p["start"] = lo
        conds.append("r.day >= %(start)s")
    if hi is not None:
        p["stop"] = hi
        conds.append("r.day < %(stop)s")
    table = "case_stats_rollup"
    if dim == "unit_grid" and period in (None, "month", "quarter", "year"):
        # Whole months inside the range from the monthly rows, the days at either end from the daily ones.
        m1 = None if lo is None else (lo if lo.day == 1 else _next_month(lo))
        m2 = None if hi is None else hi.replace(day=1)
        if m1 is None or m2 is None or m1 < m2:
            p.update(m1=m1, m2=m2)
            parts = ["SELECT r.day, r.val, r.n FROM case_stats_rollup r WHERE r.dim = 'unit_grid_month'"
                     + (" AND r.day >= %(m1)s" if m1 else "") + (" AND r.day < %(m2)s" if m2 else "")]
            # each end its own index range (an OR of the two would scan every day of the range)
            if m1 and lo < m1:
                parts.append("SELECT r.day, r.val, r.n FROM case_stats_rollup r WHERE r.dim = 'unit_grid' "
                             "AND r.day >= %(start)s AND r.day < %(m1)s")
            if m2 and hi > m2:
                parts.append("SELECT r.day, r.val, r.n FROM case_stats_rollup r WHERE r.dim = 'unit_grid' "
                             "AND r.day >= %(m2)s AND r.day < %(stop)s")
            table = f"({' UNION ALL '.join(parts)})"
            conds = ["TRUE"]
    day = "r.day::timestamp"
    if shift:
        day = f"(r.day + make_interval(months => {shift[0]}, days => {shift[1]}))"
    bucket = f"date_trunc('{period}', {day})" if period else "NULL::timestamp"
    value, join = "r.val", ""
    if group == "eval_grid":
        value, join = "ug.eval_code", "LEFT JOIN unit_grids ug ON ug.code = r.val"
    sql = (f"SELECT {value}, {bucket}, sum(r.n)::bigint FROM {table} r {join} "
           f"WHERE {' AND '.join(conds)} GROUP BY 1, 2 HAVING sum(r.n) <> 0")
    out: dict[tuple, int] = {}
    for v, b, n in conn.execute(sql, p).fetchall():
        v = v or None
        if group is None:
            k: tuple = (b,)
        elif group in ("minor", "category"):
            k = (v[:2], v[2:], b) if v else (None, None, b)
        else:
            k = (v, b)
        out[k] = out.get(k, 0) + int(n)
    return out


def _next_month(d: Any) -> Any:
    return d.replace(year=d.year + (d.month == 12), month=d.month % 12 + 1, day=1)


def _period_text(v: Any, period: str | None) -> str | None:
    if v is None or period is None:
        return None
    return v.date().isoformat()


def _rows(groups: list[str], allowed: dict[str, Group], period: str | None, cur: dict[tuple, int],
          prev: dict[tuple, int] | None, limit: int | None) -> list[dict[str, Any]]:
    keys = [k for g in groups for k in allowed[g].keys]
    keys = list(dict.fromkeys(keys))
    # Groups sharing a key (category and minor both give major, minor) repeat it in the SQL: keep one.
    positions = {}
    i = 0
    for g in groups:
        for k in allowed[g].keys:
            positions.setdefault(k, i)
            i += 1
    total = sum(cur.values()) or 0
    all_keys = list(cur)
    if prev is not None:
        all_keys += [k for k in prev if k not in cur]
    rows = []
    for k in all_keys:
        row: dict[str, Any] = {name: k[positions[name]] for name in keys}
        row["period"] = _period_text(k[-1], period)
        n = cur.get(k, 0)
        row["count"] = n
        row["share"] = round(n / total, 6) if total else 0.0
        if prev is not None:
            pv = prev.get(k, 0)
            row["previous"] = pv
            row["change"] = round((n - pv) / pv, 6) if pv else None
        rows.append(row)
    rows.sort(key=lambda r: (r["period"] or "", -r["count"], *(str(r[k]) for k in keys)))
    if limit is not None:
        rows = sorted(rows, key=lambda r: -r["count"])[:limit]
    return rows


def _labels(conn: psycopg.Connection, rows: list[dict[str, Any]], kind: str) -> dict[str, dict[str, str]]:
    """Chinese names of the values in `rows` (vocabularies, categories, areas, vehicles)."""
    labels: dict[str, dict[str, str]] = {}
    present = {k for r in rows for k in r}
    if kind == "cases":
        if "source" in present:
            labels["source"] = CASE_SOURCES.labels
        if "status" in present:
            labels["status"] = CASE_STATUSES.labels
        if "kind" in present:
            labels["kind"] = CASE_KINDS.labels
        if "major" in present:
            majors = {r["major"] for r in rows}
            labels["major"] = {m.strip(): n for m, n in conn.execute(
                "SELECT DISTINCT ON (major) major, major_name FROM categories WHERE major = ANY(%s) "
                "ORDER BY major, kind DESC", (list(majors),)).fetchall()}
        if "minor" in present:
            pairs = {f"{r['major']}{r['minor']}" for r in rows if r.get("major") and r.get("minor")}
            labels["minor"] = {f"{a}{b}": n for a, b, n in conn.execute(
                "SELECT DISTINCT ON (major, minor) major, minor, name FROM categories "
                "WHERE major || minor = ANY(%s) ORDER BY major, minor, kind DESC", (list(pairs),)).fetchall()}
        for level, sql in (("street", "SELECT code, name FROM admin_areas WHERE code = ANY(%s)"),
                           ("community", "SELECT code, name FROM admin_areas WHERE code = ANY(%s)"),
                           ("unit_grid", "SELECT code, coalesce(name, code) FROM unit_grids WHERE code = ANY(%s)"),
                           ("eval_grid", "SELECT code, coalesce(name, code) FROM eval_grids WHERE code = ANY(%s)")):
            if level in present:
                codes = list({r[level] for r in rows if r.get(level)})
                labels[level] = dict(conn.execute(sql, (codes,)).fetchall())
    else:
        if "kind" in present:
            labels["kind"] = {k: v[0] for k, v in ALARM_KINDS.items()}
        if "state" in present:
            labels["state"] = {"open": "未结束", "closed": "已结束"}
        if "vehicle_kind" in present:
            labels["vehicle_kind"] = VEHICLE_KINDS.labels
        if "vehicle" in present:
            ids = list({r["vehicle"] for r in rows if r.get("vehicle")})
            labels["vehicle"] = {i: p or i for i, p in conn.execute(
                "SELECT id, plate FROM vehicles WHERE id = ANY(%s)", (ids,)).fetchall()}
        if "street" in present:
            codes = [r["street"] for r in rows if r.get("street")]
            labels["street"] = dict(conn.execute("SELECT code, name FROM admin_areas WHERE code = ANY(%s)",
                                                 (codes,)).fetchall())
        if "fence" in present:
            ids = [r["fence"] for r in rows if r.get("fence") is not None]
            labels["fence"] = {str(i): n or f"围栏 {i}" for i, n in conn.execute(
                "SELECT id, name FROM fences WHERE id = ANY(%s)", (ids,)).fetchall()}
    return labels


def _check(period: str | None, compare: str | None, start: datetime | None, stop: datetime | None,
           limit: int | None) -> None:
    if period is not None and period not in PERIODS:
        raise InvalidInput(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    if compare is not None and compare not in COMPARES:
        raise InvalidInput(f"compare must be yoy or mom, got {compare!r}")
    if compare is not None and (start is None or stop is None):
        raise InvalidInput("compare needs both from and to")
    if limit is not None and not 1 <= limit <= 10000:
        raise InvalidInput("limit must be 1–10000")


def _comparison_shift(compare: str | None, period: str | None, start: datetime | None,
                      stop: datetime | None) -> tuple[int, int] | None:
    if compare is None:
        return None
    if compare == "yoy":
        return YOY_SHIFT[period]
    if period is not None:
        return MOM_SHIFT[period]
    # 环比 of a whole range: the range of equal length just before it (in whole days).
    assert start is not None and stop is not None
    return (0, max(1, round((stop - start).total_seconds() / 86400)))


def case_stats(conn: psycopg.Connection, *, groups: Sequence[str] = (), period: str | None = None,
               start: datetime | None = None, stop: datetime | None = None, compare: str | None = None,
               source: Sequence[str] = (), status: Sequence[str] = (), category: str | None = None,
               area: str | None = None, limit: int | None = None, answers: LayerCache | None = None,
               encoded: bool = False, scope_area: Area | None = None) -> Any:
    """Case counts by `groups` and `period` over [start, stop), optionally against the previous year
    (`yoy`) or period (`mom`); filters by source, status, 大类/小类 and area code (any level).
    `encoded`: the answer as JSON bytes, cached as such (a cached answer of thousands of rows is then
    sent without being serialised again)."""
    gs = parse_groups(groups, CASE_GROUPS)
    _check(period, compare, start, stop, limit)
    where: list[str] = []
    params: dict[str, Any] = {}
    if source:
        where.append("c.source = ANY(%(source)s)")
        params["source"] = list(source)
    if status:
        where.append("c.status = ANY(%(status)s)")
        params["status"] = list(status)
    if category:
        cats = [x.strip() for x in category.split(",") if x.strip()]
        if not all(x.isdigit() and len(x) in (2, 4) for x in cats):
            raise InvalidInput("category must be 大类 `01` or 大类+小类 `0101`, comma-separated")
        where.append("(c.major = ANY(%(majors)s) OR c.major || c.minor = ANY(%(pairs)s))")
        params["majors"] = [x for x in cats if len(x) == 2]
        params["pairs"] = [x for x in cats if len(x) == 4]
    if area:
        if not area.isdigit() or len(area) not in (6, 9, 12, 15):
            raise InvalidInput("area must be a district, street, community or unit grid code")
        where.append("c.unit_grid_code LIKE %(area)s")
        params["area"] = area + "%"
    _limit_to(where, params, "cases", "c", scope_area)
    key = ("cases", tuple(gs), period, start, stop, compare, tuple(source), tuple(status), category, area, limit,
           encoded, scope_area.code if scope_area else None)

    def compute() -> dict[str, Any]:
        shift = _comparison_shift(compare, period, start, stop)
        if _rollup_usable(conn, gs, where, start, stop, shift):
            g = gs[0] if gs else None
            cur = _grouped_rollup(conn, g, period, start, stop)
            prev = None if shift is None else _grouped_rollup(conn, g, period, start, stop, shift)
        else:
            cur = _grouped(conn, table="cases", alias="c", time_col="reported_at", groups=gs,
                           allowed=CASE_GROUPS, period=period, start=start, stop=stop, where=where, params=params)
            prev = None if shift is None else _grouped(
                conn, table="cases", alias="c", time_col="reported_at", groups=gs, allowed=CASE_GROUPS,
                period=period, start=start, stop=stop, where=where, params=params, shift=shift)
        return _encode(_answer(conn, "cases", gs, CASE_GROUPS, period, compare, start, stop, cur, prev, limit),
                       encoded)

    return get_or_compute(answers, conn, CASE_TABLES, key, compute)


def alarm_stats(conn: psycopg.Connection, *, groups: Sequence[str] = (), period: str | None = None,
                start: datetime | None = None, stop: datetime | None = None, compare: str | None = None,
                kind: Sequence[str] = (), vehicle: str | None = None, state: str | None = None,
                limit: int | None = None, answers: LayerCache | None = None, encoded: bool = False,
                scope_area: Area | None = None) -> Any:
    """Alarm counts by kind, vehicle, vehicle kind, road (多发路段), fence, state and period, by start time."""
    gs = parse_groups(groups, ALARM_GROUPS)
    _check(period, compare, start, stop, limit)
    where: list[str] = []
    params: dict[str, Any] = {}
    if kind:
        bad = [k for k in kind if k not in ALARM_KINDS]
        if bad:
            raise InvalidInput(f"unknown alarm kind {bad[0]!r}")
        where.append("a.kind = ANY(%(kinds)s)")
        params["kinds"] = list(kind)
    if vehicle:
        where.append("a.vehicle_id = %(vehicle)s")
        params["vehicle"] = vehicle
    if state is not None:
        if state not in ("open", "closed"):
            raise InvalidInput(f"state must be open or closed, got {state!r}")
        where.append('a."end" IS NULL' if state == "open" else 'a."end" IS NOT NULL')
    _limit_to(where, params, "alarms", "a", scope_area)
    key = ("alarms", tuple(gs), period, start, stop, compare, tuple(kind), vehicle, state, limit, encoded,
           scope_area.code if scope_area else None)

    def compute() -> dict[str, Any]:
        cur = _grouped(conn, table="alarms", alias="a", time_col="start", groups=gs, allowed=ALARM_GROUPS,
                       period=period, start=start, stop=stop, where=where, params=params)
        shift = _comparison_shift(compare, period, start, stop)
        prev = None if shift is None else _grouped(
            conn, table="alarms", alias="a", time_col="start", groups=gs, allowed=ALARM_GROUPS,
            period=period, start=start, stop=stop, where=where, params=params, shift=shift)
        return _encode(_answer(conn, "alarms", gs, ALARM_GROUPS, period, compare, start, stop, cur, prev, limit),
                       encoded)

    return get_or_compute(answers, conn, ALARM_TABLES, key, compute)


def _limit_to(where: list[str], params: dict[str, Any], layer_id: str, alias: str, area: Area | None) -> None:
    """Counts of a scoped caller: only the rows of its area (the catalog's scope of the layer). A
    condition also keeps the daily rollup out (it has no geometry), so the totals stay exact."""
    if area is not None:
        cond, values = scope.named(*scope.condition(catalog.get(layer_id), area, alias))
        where.append(cond)
        params.update(values)


def _encode(answer: dict[str, Any], encoded: bool) -> Any:
    return orjson.dumps(answer, option=orjson.OPT_NON_STR_KEYS) if encoded else answer


def _answer(conn: psycopg.Connection, kind: str, gs: list[str], allowed: dict[str, Group], period: str | None,
            compare: str | None, start: datetime | None, stop: datetime | None, cur: dict[tuple, int],
            prev: dict[tuple, int] | None, limit: int | None) -> dict[str, Any]:
    rows = _rows(gs, allowed, period, cur, prev, limit)
    for r in rows:
        for k, v in list(r.items()):
            if isinstance(v, str):
                r[k] = v.strip()
    answer: dict[str, Any] = {
        "rows": rows, "group": gs, "period": period, "compare": compare,
        "from": start.isoformat() if start else None, "to": stop.isoformat() if stop else None,
        "total": sum(cur.values()), "labels": _labels(conn, rows, kind),
        "counted": "案件（按上报时间）" if kind == "cases" else "报警（按开始时间）",
        "timezone": str(district_tz()),
    }
    if prev is not None:
        answer["previous_total"] = sum(prev.values())
    return answer
