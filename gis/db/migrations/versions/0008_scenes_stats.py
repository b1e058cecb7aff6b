"""Scenes (一图N景) and the covering index of the case statistics (issue 19).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0008_scenes_stats.sql"))


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS cases_stats_idx")
    op.execute("DROP TABLE IF EXISTS scenes")
