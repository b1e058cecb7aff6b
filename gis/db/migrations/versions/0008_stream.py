"""Broker mode (issue 18): each fence worker's committed position in the fix stream.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Written in the same transaction as the fixes and alarms of a stream entry: an entry re-delivered
    # after a crash (committed, not yet acknowledged to the broker) is recognised and skipped, and the
    # alarm events of the last committed entry can be re-published idempotently by the next owner.
    op.execute("""
        CREATE TABLE fence_stream_offsets (
            epoch       text NOT NULL,          -- the broker's identity: offsets of another broker never apply
            stream      text NOT NULL,
            entry_id    text NOT NULL,          -- last entry committed (Redis stream id "ms-seq")
            event_ids   bigint[] NOT NULL DEFAULT '{}',   -- alarm events of that entry
            updated_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (epoch, stream)
        )""")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS fence_stream_offsets")
