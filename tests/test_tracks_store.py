"""Storing fixes on a connection that was opened, and had its own adapters, before the ingest module was
imported (the demo loader's order): the binary array parameters must still go as arrays."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import os, sys
    import psycopg
    from psycopg.adapt import Dumper
    conn = psycopg.connect(os.environ["STORE_URL"])

    class Marker:   # any dumper registered on the connection gives it its own copy of the adapters
        pass

    class MarkerDumper(Dumper):
        def dump(self, obj):
            return b""

    conn.adapters.register_dumper(Marker, MarkerDumper)
    assert "gis.tracks.pgarrays" not in sys.modules
    from gis.tracks import ingest
    batch = ingest.parse([{"vehicle_id": "pgarrays-1", "ts": "2026-01-05T08:00:00Z", "lon": 121.48, "lat": 31.38},
                          {"vehicle_id": "pgarrays-1", "ts": "2026-01-05T08:00:05Z", "lon": 121.481, "lat": 31.381}])
    with conn.transaction():
        stored = ingest.store(conn, batch)
    print(len(stored))
""")


def test_fixes_are_stored_on_a_connection_older_than_the_ingest_module(clean_db: str, db) -> None:
    res = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "STORE_URL": clean_db, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["2"]
    rows = db.execute("SELECT count(*) FROM positions WHERE vehicle_id = 'pgarrays-1'").fetchone()[0]
    assert rows == 2
