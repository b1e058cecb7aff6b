"""OGC API (issue 8): per-table change counters that invalidate the count, extent and tile caches.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = [
    "admin_areas", "unit_grids", "eval_grids", "work_grids", "streets", "doorplates", "zones", "pois",
    "categories", "components", "waste_facilities", "vehicles", "routes", "fences", "cases", "alarms",
]


def upgrade() -> None:
    op.execute(read_sql("0004_ogc.sql"))


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS ogc_changes_bump ON {table}")
    op.execute("DROP FUNCTION IF EXISTS ogc_changes_bump()")
    op.execute("DROP TABLE IF EXISTS ogc_changes")
