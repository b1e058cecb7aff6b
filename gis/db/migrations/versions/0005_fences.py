"""Fences (issue 9): pgRouting, alarm kinds with Chinese labels, alarm feed, per-vehicle watermark, network.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0005_fences.sql"))


def downgrade() -> None:
    for table in ("route_graph_meta", "route_vertices", "route_edges", "fence_vehicle_state", "alarm_events"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP INDEX IF EXISTS alarms_identity_idx")
    op.execute("DROP INDEX IF EXISTS alarms_open_idx")
    op.execute("DROP INDEX IF EXISTS alarms_kind_idx")
    op.execute("ALTER TABLE alarms DROP CONSTRAINT IF EXISTS alarms_kind_fk")
    op.execute("DROP TABLE IF EXISTS alarm_kinds")
    op.execute("ALTER TABLE vehicles DROP COLUMN IF EXISTS signal_timeout_s")
    op.execute("DROP INDEX IF EXISTS fences_route_idx")
    op.execute("ALTER TABLE fences DROP CONSTRAINT IF EXISTS fences_alarm_kind")
    op.execute("ALTER TABLE fences DROP COLUMN IF EXISTS alarm_kind")
    op.execute("ALTER TABLE fences DROP COLUMN IF EXISTS vehicle_groups")
    op.execute("DROP EXTENSION IF EXISTS pgrouting")
