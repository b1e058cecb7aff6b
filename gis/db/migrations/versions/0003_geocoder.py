"""Geocoder (issue 4): a change counter that the in-memory address index checks per request.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

REF_TABLES = ("admin_areas", "streets", "zones", "doorplates", "pois")


def upgrade() -> None:
    op.execute(read_sql("0003_geocoder.sql"))


def downgrade() -> None:
    for table in REF_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS geocoder_ref_bump ON {table}")
    op.execute("DROP FUNCTION IF EXISTS geocoder_ref_bump()")
    op.execute("DROP TABLE IF EXISTS geocoder_ref_version")
