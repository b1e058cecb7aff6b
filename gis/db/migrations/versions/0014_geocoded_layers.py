"""Named layers of batch-geocoding results (issue 19): `geocoded_points`, published through OGC.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0014_geocoded_layers.sql"))


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS geocoded_points")
