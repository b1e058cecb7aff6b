"""What one INSERT INTO cases costs the database, trimmed: the statistics trigger reads the zone once,
and five btree indexes leading by reported_at or h3_cell become two covering ones (issue 14).

Revision ID: 0019
Revises: 0018
"""

import re

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0019_write_cost.sql"))


def downgrade() -> None:
    # 0018's statement builder (the zone as a subquery in the day expression), regenerated.
    builder = re.search(r"CREATE OR REPLACE FUNCTION case_stats_stmt.*?END \$\$;", read_sql("0018_static_rollups.sql"),
                        flags=re.S)
    assert builder is not None
    op.execute(builder.group(0))
    op.execute("SELECT static_rollup_function('case_stats_apply', case_stats_stmt('INSERT'), "
               "case_stats_stmt('DELETE'), case_stats_stmt('UPDATE'))")
    op.execute("DROP INDEX IF EXISTS cases_time_idx")
    op.execute("DROP INDEX IF EXISTS cases_h3_scope_idx")
    op.execute("CREATE INDEX IF NOT EXISTS cases_reported_idx ON cases (reported_at)")
    op.execute("CREATE INDEX IF NOT EXISTS cases_time_h3_idx ON cases (reported_at) "
               "INCLUDE (h3_cell, weight, major, minor, source)")
    op.execute("CREATE INDEX IF NOT EXISTS cases_stats_idx ON cases (reported_at) "
               "INCLUDE (source, major, minor, status, unit_grid_code, kind)")
    op.execute("CREATE INDEX IF NOT EXISTS cases_h3_idx ON cases (h3_cell) "
               "INCLUDE (reported_at, weight, major, minor, source)")
    op.execute("CREATE INDEX IF NOT EXISTS cases_h3_scope_idx ON cases (h3_cell) INCLUDE (unit_grid_code, id)")
