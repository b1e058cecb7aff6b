"""Cameras (GB/T 28181 channels with their viewed sector), IoT devices, readings, thresholds and
device alarms (issue 15).

Revision ID: 0010
Revises: 0009
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0010_cameras.sql"))


def downgrade() -> None:
    for table in ("device_alarms", "device_metric_state", "device_readings", "device_thresholds", "devices",
                  "cameras"):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.execute("DELETE FROM ogc_changes WHERE table_name IN ('cameras', 'devices')")
    op.execute("DROP FUNCTION IF EXISTS camera_sector(geometry, double precision, double precision, double precision)")
