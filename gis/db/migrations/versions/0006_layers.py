"""Heat layers (issue 5): an H3 cell column, covering indexes and a reset trigger on the point tables.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ["cases", "waste_records", "components", "pois", "doorplates", "waste_facilities"]


def upgrade() -> None:
    op.execute(read_sql("0006_layers.sql"))


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_h3_reset ON {table}")
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS h3_cell")
    op.execute("DROP FUNCTION IF EXISTS h3_cell_reset()")
