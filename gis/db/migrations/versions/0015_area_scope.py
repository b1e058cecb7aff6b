"""Area scope (issue 17): `api_keys.area` and `fleet_areas` (the areas each vehicle fleet belongs to).
The indexes the area condition uses follow from the catalog (gis.db.catalog_sync).

Revision ID: 0015
Revises: 0014
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0015_area_scope.sql"))


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS fleet_areas")
    op.execute("DROP INDEX IF EXISTS vehicles_group_idx")
    op.execute("ALTER TABLE api_keys DROP COLUMN IF EXISTS area")
