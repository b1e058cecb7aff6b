"""OGC API – Processes jobs (issue 14): status, progress, inputs and results of asynchronous jobs.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0012_processes.sql"))


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ogc_jobs")
