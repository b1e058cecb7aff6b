"""Striped change counters and rollups: concurrent writers of one table do not queue on one row (issue 14).

Revision ID: 0013
Revises: 0012
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: table → its key without the stripe, and the summed columns.
STRIPED = {
    "ogc_changes": (("table_name",), "sum(version)::bigint AS version, max(changed_at) AS changed_at"),
    "case_stats_rollup": (("dim", "day", "val"), "sum(n)::bigint AS n"),
    "heat_rollup": (("tbl", "cell", "part", "period"), "sum(n)::bigint AS n, sum(w) AS w"),
}


def upgrade() -> None:
    op.execute(read_sql("0013_write_stripes.sql"))


def downgrade() -> None:
    # The functions of 0004/0007/0009 come back with those files' text; the stripes fold into one row.
    for table, (key, sums) in STRIPED.items():
        cols = ", ".join(key)
        op.execute(f"CREATE TEMP TABLE folded AS SELECT {cols}, {sums} FROM {table} GROUP BY {cols}")
        op.execute(f"DELETE FROM {table}")
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey")
        op.execute(f"ALTER TABLE {table} DROP COLUMN slot")
        names = ", ".join(part.rsplit(" AS ", 1)[1] for part in sums.split(", "))
        op.execute(f"INSERT INTO {table} ({cols}, {names}) SELECT * FROM folded")
        op.execute("DROP TABLE folded")
        op.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({cols})")
    for name in ("0004_ogc.sql", "0007_heat_rollup.sql", "0009_scenes_stats.sql"):
        _functions_of(read_sql(name))


def _functions_of(sql: str) -> None:
    """Re-runs only the CREATE OR REPLACE FUNCTION statements of an older file."""
    import re

    for fn in re.findall(r"CREATE OR REPLACE FUNCTION .*?END \$\$;", sql, flags=re.S):
        op.execute(fn)
