"""Users, sessions, pending OIDC logins, application names of keys and per-application call counts (issue 17).

Revision ID: 0016
Revises: 0015
"""

from alembic import op

from gis.db.sqlfiles import read_sql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0016_users_sessions.sql"))


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS app_calls, oidc_pending, sessions, users")
    op.execute("ALTER TABLE api_keys DROP COLUMN IF EXISTS app")
