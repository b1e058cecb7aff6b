"""Time partitions kept by pg_partman: positions (existing children adopted) and alarms (rebuilt,
partitioned by start), monthly, premade four months ahead (issue 18).

Revision ID: 0017
Revises: 0016
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0017_partman.sql"))


def downgrade() -> None:
    op.execute(read_sql("0017_partman_down.sql"))
