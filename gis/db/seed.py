"""Reference data shipped with the package (the 大类/小类 table), loaded after every migration, and the
schema objects the catalog implies (gis.db.catalog_sync).

The table is data, not code: edit `gis/data/categories.csv` to add local subclasses (80–99).
Existing rows are updated in place, so re-running is harmless.
"""

from __future__ import annotations

import csv
from pathlib import Path

from gis.db import catalog_sync
from gis.db.engine import connect

CATEGORIES_CSV = Path(__file__).resolve().parent.parent / "data" / "categories.csv"


def read_categories() -> list[dict[str, str]]:
    with CATEGORIES_CSV.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def seed_reference_data(url: str | None = None) -> int:
    rows = read_categories()
    with connect(url) as conn:
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO categories (kind, major, minor, major_name, name)
                   VALUES (%(kind)s, %(major)s, %(minor)s, %(major_name)s, %(name)s)
                   ON CONFLICT (kind, major, minor)
                   DO UPDATE SET major_name = EXCLUDED.major_name, name = EXCLUDED.name""",
                rows,
            )
        catalog_sync.sync(conn)
        conn.commit()
    return len(rows)
