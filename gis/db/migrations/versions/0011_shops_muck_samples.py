"""Street shops, construction-waste sites and muck permits, evaluation sample points (issue 16).

Revision ID: 0011
Revises: 0010
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("eval_sample_checkins", "eval_sample_assignments", "eval_sample_draws", "eval_sample_points",
          "muck_permits", "cw_sites", "shop_evaluations", "shop_collections", "shops")


def upgrade() -> None:
    op.execute(read_sql("0011_shops_muck_samples.sql"))


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS shops_area_refresh ON work_grids")
    for table in TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table}")
    for fn in ("shop_state_at(timestamptz)", "shops_area_refresh()", "shops_area_insert()", "shops_area_set()",
               "shops_area_of(geometry)"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    op.execute("DELETE FROM alarms WHERE kind IN ('illegal_dumping', 'unapproved_route', 'restricted_hours')")
    op.execute("DELETE FROM alarm_kinds WHERE kind IN ('illegal_dumping', 'unapproved_route', 'restricted_hours')")
    op.execute("ALTER TABLE fences DROP CONSTRAINT fences_alarm_kind")
    op.execute("ALTER TABLE fences ADD CONSTRAINT fences_alarm_kind CHECK (alarm_kind IS NULL OR alarm_kind IN ("
               "'out_of_area', 'cross_district'))")
