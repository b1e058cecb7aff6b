"""Time partitions kept by pg_partman (migration 0017): which tables, and one maintenance pass.

Partman premakes future months and applies retention; the pass around it exists because ingest does no
DDL: a fix older than the first month partition waits in the table's default partition, and a row left
there for a month partman later makes would make that CREATE fail. So a pass first moves the default
partition's rows into their months (`partman.partition_data_time`, which makes the missing months),
then sets the table's retention from the settings and runs partman's maintenance for it. Everything in
one transaction, in UTC (partman cuts months in the session's time zone; ours are UTC months), and a
pass that changed something is written to the audit log — dropping history is an audited act.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from gis.security import audit
from gis.settings import Settings

#: Partitioned table -> its partition key (monthly ranges). `cases` is not among them: see decisions.md.
PARTITIONED: dict[str, str] = {"positions": "ts", "alarms": "start"}


@dataclass
class TableReport:
    """What one pass did to one table."""

    table: str
    retention_months: int | None
    moved: int = 0
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.moved or self.created or self.dropped)

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "retention_months": self.retention_months, "moved": self.moved,
                "created": self.created, "dropped": self.dropped}


def partitions(conn: psycopg.Connection, table: str) -> list[str]:
    """The month partitions of `table` in time order (not the default one)."""
    rows = conn.execute("SELECT partition_tablename FROM partman.show_partitions(%s)", (f"public.{table}",))
    return [r[0] for r in rows]


def retention_months(settings: Settings, table: str) -> int | None:
    """The configured retention of `table` in whole months (None: keep everything)."""
    return getattr(settings, f"retention_{table}_months")


def maintain(conn: psycopg.Connection, settings: Settings, actor: str) -> list[TableReport]:
    """One maintenance pass over every partitioned table; returns what it did per table."""
    reports = []
    with conn.transaction():
        conn.execute("SET LOCAL timezone = 'UTC'")
        for table in PARTITIONED:
            parent = f"public.{table}"
            report = TableReport(table, retention_months(settings, table))
            before = set(partitions(conn, table))
            while True:  # partition_data_time moves at most p_batch_count months per call
                moved = conn.execute("SELECT partman.partition_data_time(%s, p_batch_count := 120, p_analyze := false)",
                                     (parent,)).fetchone()[0] or 0
                report.moved += moved
                if not moved:
                    break
            # partman's scratch table lives until commit with the columns of the table it moved first;
            # the next table in this transaction needs its own
            conn.execute("DROP TABLE IF EXISTS pg_temp.partman_temp_data_storage")
            months = report.retention_months
            conn.execute("UPDATE partman.part_config SET retention = %s, retention_keep_table = false "
                         "WHERE parent_table = %s", (f"{months} months" if months else None, parent))
            conn.execute("SELECT partman.run_maintenance(%s, p_analyze := false, p_jobmon := false)", (parent,))
            after = set(partitions(conn, table))
            report.created = sorted(after - before)
            report.dropped = sorted(before - after)
            reports.append(report)
        entries = [audit.Entry(actor, "db.maintain", r.table, tuple(r.dropped), detail=r.as_dict())
                   for r in reports if r.changed]
        audit.append(conn, entries)
    return reports
