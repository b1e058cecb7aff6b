"""The rollup triggers of cases with static SQL: planned once per session, not on every write (issue 14).

Revision ID: 0018
Revises: 0017
"""

import re

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0018_static_rollups.sql"))


def downgrade() -> None:
    # 0013's dynamic functions come back; the heat triggers of cases call the generic one again.
    for fn in re.findall(r"CREATE OR REPLACE FUNCTION .*?END \$\$;", read_sql("0013_write_stripes.sql"), flags=re.S):
        if "case_stats_apply" in fn or "heat_rollup_apply" in fn:
            op.execute(fn)
    for trigger, event, tables in (("heat_rollup_ins", "INSERT", "NEW TABLE AS new_rows"),
                                   ("heat_rollup_upd", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                                   ("heat_rollup_del", "DELETE", "OLD TABLE AS old_rows")):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON cases")
        op.execute(f"CREATE TRIGGER {trigger} AFTER {event} ON cases REFERENCING {tables} FOR EACH STATEMENT "
                   "EXECUTE FUNCTION heat_rollup_apply('source', 'reported_at', 'weight')")
    for fn in ("cases_heat_apply()", "static_rollup_function(text, text, text, text)", "case_stats_stmt(text)",
               "heat_rollup_stmt(text, text, text, text, text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
