"""Grid engine (issue 3): grid-change log, code sequences, automatic unit-grid assignment triggers.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GRID_TABLES = ("admin_areas", "unit_grids", "eval_grids", "work_grids")
ASSIGNED_TABLES = ("components", "waste_facilities", "cases")


def upgrade() -> None:
    op.execute(read_sql("0002_grids.sql"))


def downgrade() -> None:
    for table in ASSIGNED_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS assign_unit_grid ON {table}")
    for table in GRID_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS grid_changes_row ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS grid_changes_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS assign_unit_grid()")
    op.execute("DROP FUNCTION IF EXISTS grid_changes_log()")
    op.execute("DROP TABLE IF EXISTS code_sequences")
    op.execute("DROP TABLE IF EXISTS grid_changes")
