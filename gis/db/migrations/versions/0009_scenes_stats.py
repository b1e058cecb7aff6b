"""Scenes (一图N景), the covering index and the daily rollup of the case statistics (issue 19).

Revision ID: 0009
Revises: 0008
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0009_scenes_stats.sql"))


def downgrade() -> None:
    for trigger in ("case_stats_ins", "case_stats_upd", "case_stats_del", "case_stats_trunc"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON cases")
    op.execute("DROP FUNCTION IF EXISTS case_stats_apply()")
    op.execute("DROP FUNCTION IF EXISTS case_stats_truncate()")
    op.execute("DROP FUNCTION IF EXISTS case_stats_rows(text, text)")
    op.execute("DROP TABLE IF EXISTS case_stats_rollup")
    op.execute("DROP TABLE IF EXISTS case_stats_zone")
    op.execute("DROP INDEX IF EXISTS cases_stats_idx")
    op.execute("DROP TABLE IF EXISTS scenes")
