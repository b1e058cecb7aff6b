"""Per-area shop figures (门责): for each 市容环境卫生责任区 a street's shops fall in (a band along a trunk
road crosses streets: the figures count the street's own shops in it), its shops, how many were
collected on a day and how many not, and how many are red, yellow and green.

One set-based statement: the day's collected shops are one index range scan of shop_collections(ts); the
colours come from `shop_state_at` (an inlinable SQL function, so the area filter reaches its scans).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import psycopg

from gis import catalog
from gis import params as rules
from gis.errors import InvalidInput
from gis.security import scope
from gis.security.scope import Area

FIGURES_SQL = """
WITH street_shops AS (
    SELECT s.id, s.area_id FROM shops s
    WHERE s.area_id IS NOT NULL AND (%(street)s::text IS NULL OR s.street_code = %(street)s)
), areas AS (
    SELECT w.id, w.code, w.name, w.street_code FROM work_grids w
    WHERE w.kind = 'cityscape_responsibility'
      AND (%(street)s::text IS NULL OR w.street_code = %(street)s OR w.id IN (SELECT area_id FROM street_shops))
), today AS (
    SELECT shop_id, sum(weight_kg) AS kg FROM shop_collections
    WHERE ts >= %(d0)s AND ts < %(d1)s GROUP BY shop_id
), st AS (
    SELECT s.area_id, x.integrity, t.shop_id IS NOT NULL AS collected, coalesce(t.kg, 0) AS kg
    FROM street_shops s
    JOIN shop_state_at(%(at)s) x ON x.shop_id = s.id
    LEFT JOIN today t ON t.shop_id = s.id
)
SELECT a.id, a.code, a.name, a.street_code, count(st.area_id)::int AS shops,
       count(*) FILTER (WHERE st.collected)::int AS collected,
       count(*) FILTER (WHERE NOT st.collected)::int AS not_collected,
       round(coalesce(sum(st.kg), 0)::numeric, 1)::float AS collected_kg,
       count(*) FILTER (WHERE st.integrity = 'red')::int AS red,
       count(*) FILTER (WHERE st.integrity = 'yellow')::int AS yellow,
       count(*) FILTER (WHERE st.integrity = 'green')::int AS green
FROM areas a LEFT JOIN st ON st.area_id = a.id
GROUP BY a.id, a.code, a.name, a.street_code
ORDER BY a.code
"""

KEYS = ("id", "code", "name", "street_code", "shops", "collected", "not_collected", "collected_kg", "red", "yellow",
        "green")
TOTAL_KEYS = ("shops", "collected", "not_collected", "collected_kg", "red", "yellow", "green")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The district's local day [start, end)."""
    tz = rules.district_tz()
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, start + timedelta(days=1)


def area_figures(conn: psycopg.Connection, street: str | None, day: date | None = None,
                 area: Area | None = None) -> dict[str, Any]:
    """Figures per responsibility area of `street` (9 digits; all areas when None) on `day` (default today).

    Colours are judged at the end of the day, or now for today. `area`: the caller's; only the
    responsibility areas inside it (the work_grids layer's scope), totals over those."""
    if street is not None and (len(street) != 9 or not street.isdigit()):
        raise InvalidInput(f"street must be a 9-digit street code, got {street!r}")
    tz = rules.district_tz()
    day = day or datetime.now(tz).date()
    d0, d1 = day_bounds(day)
    at = min(d1, datetime.now(tz))
    rows = conn.execute(FIGURES_SQL, {"street": street, "d0": d0, "d1": d1, "at": at}).fetchall()
    areas = [dict(zip(KEYS, r, strict=True)) for r in rows]
    if area is not None:
        mine = scope.keep(conn, catalog.get("work_grids"), area, [a["id"] for a in areas])
        areas = [a for a in areas if a["id"] in mine]
    totals = {k: sum(a[k] for a in areas) for k in TOTAL_KEYS}
    totals["collected_kg"] = round(totals["collected_kg"], 1)
    return {"street": street, "day": day.isoformat(), "judged_at": at.isoformat(), "areas": areas, "totals": totals}
