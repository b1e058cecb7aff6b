"""Heat rollup (issue 5): counts and weight sums per table, part, UTC month and resolution-8 H3 cell,
kept by statement-level triggers; a change counter for waste_records.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0007_heat_rollup.sql"))


def downgrade() -> None:
    for table in ("cases", "waste_records"):
        for trigger in ("heat_rollup_ins", "heat_rollup_upd", "heat_rollup_del", "heat_rollup_trunc"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    op.execute("DROP TRIGGER IF EXISTS ogc_changes_bump ON waste_records")
    op.execute("DELETE FROM ogc_changes WHERE table_name = 'waste_records'")
    op.execute("DROP FUNCTION IF EXISTS heat_rollup_apply()")
    op.execute("DROP FUNCTION IF EXISTS heat_rollup_truncate()")
    op.execute("DROP TABLE IF EXISTS heat_rollup")
