"""Core schema: areas, grids, geocoding reference data, components, waste, vehicles, fences, audit.

Revision ID: 0001
Revises:
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = [
    "audit_log", "api_keys", "eval_draws", "waste_records", "cases", "alarms", "positions", "fences",
    "routes", "vehicles", "waste_facilities", "components", "categories", "pois", "doorplates", "zones",
    "streets", "work_grids", "unit_grids", "eval_grids", "admin_areas", "dataset_meta",
]


def upgrade() -> None:
    op.execute(read_sql("0001_core.sql"))


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.execute("DROP FUNCTION IF EXISTS positions_ensure_partition(timestamptz)")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
