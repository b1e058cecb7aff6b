"""What the catalog implies for the schema, kept true after every migration (idempotent).

A layer's migration creates its table; this adds what follows from its catalog entry, so no migration
has to restate it: a statement trigger bumping the layer's change counter in `ogc_changes` (the caches
of counts, extents and tiles read it, migration 0004), and for `h3=True` layers the `h3_cell` column,
its covering index and the trigger that clears a moved point's cell (migration 0006).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from gis import catalog

#: Tables versioned by a counter although no layer stores its rows there (they change what layers show).
EXTRA_COUNTED = ("categories",)


def counted_tables(layers: tuple[catalog.Layer, ...] = catalog.LAYERS) -> tuple[str, ...]:
    """Tables with a change counter: every table a layer depends on."""
    found = [t for layer in layers for t in layer.tables]
    return tuple(dict.fromkeys([*found, *EXTRA_COUNTED]))


def _has_trigger(conn: psycopg.Connection, table: str, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s",
                        (table, name)).fetchone() is not None


def sync(conn: psycopg.Connection, layers: tuple[catalog.Layer, ...] = catalog.LAYERS) -> list[str]:
    """Adds missing counters and H3 columns; returns what it added (empty on an up-to-date schema)."""
    added: list[str] = []
    for table in counted_tables(layers):
        conn.execute("INSERT INTO ogc_changes (table_name) VALUES (%s) ON CONFLICT DO NOTHING", (table,))
        if not _has_trigger(conn, table, "ogc_changes_bump"):
            conn.execute(sql.SQL("CREATE TRIGGER ogc_changes_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                                 "ON {} FOR EACH STATEMENT EXECUTE FUNCTION ogc_changes_bump()")
                         .format(sql.Identifier(table)))
            added.append(f"change counter on {table}")
    for layer in layers:
        if not layer.h3 or _has_trigger(conn, layer.table, f"{layer.table}_h3_reset"):
            continue
        t = sql.Identifier(layer.table)
        conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS h3_cell bigint").format(t))
        conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (h3_cell)").format(
            sql.Identifier(f"{layer.table}_h3_idx"), t))
        conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({}) WHERE h3_cell IS NULL").format(
            sql.Identifier(f"{layer.table}_h3_missing_idx"), t, sql.Identifier(layer.id_column)))
        conn.execute(sql.SQL("CREATE TRIGGER {} BEFORE UPDATE OF geom ON {} FOR EACH ROW "
                             "EXECUTE FUNCTION h3_cell_reset()").format(sql.Identifier(f"{layer.table}_h3_reset"), t))
        added.append(f"h3 cells on {layer.table}")
    for layer in layers:
        added += _scope_indexes(conn, layer)
    return added


def _scope_indexes(conn: psycopg.Connection, layer: catalog.Layer) -> list[str]:
    """What the area condition of a code-scoped layer needs (gis/security/scope.py): a partial GiST
    index of the rows without a code (found by geometry once per statement), and for H3 layers the
    h3 index with the code and id included, so that a scoped heat query stays index-only."""
    code = layer.scope.code
    if not code or layer.source:
        return []
    done = []
    t = sql.Identifier(layer.table)
    name = f"{layer.table}_scope_nocode_idx"
    if not _has_index(conn, name):
        conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gist ({}) WHERE {} IS NULL").format(
            sql.Identifier(name), t, sql.Identifier(layer.geometry), sql.Identifier(code)))
        done.append(f"scope index {name}")
    name = f"{layer.table}_h3_scope_idx"
    if layer.h3 and not _has_index(conn, name):
        cols = list(dict.fromkeys([code, layer.id_column]))
        conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (h3_cell) INCLUDE ({})").format(
            sql.Identifier(name), t, sql.SQL(", ").join(sql.Identifier(c) for c in cols)))
        done.append(f"scope index {name}")
    return done


def _has_index(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_class WHERE relname = %s AND relkind = 'i'", (name,)).fetchone() is not None
