"""The migrated schema: models agree with it, constraints hold, partitions appear on demand."""

from __future__ import annotations

import re

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, pool

from gis.db import migrate
from gis.db.engine import sqlalchemy_url
from gis.db.models import Base

SQUARE = "SRID=4490;MULTIPOLYGON(((121.40 31.30,121.41 31.30,121.41 31.31,121.40 31.31,121.40 31.30)))"


def test_migrations_at_head(database_url: str) -> None:
    assert migrate.current_revision(database_url) == migrate.head_revision()


def test_models_match_migrated_schema(database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    # Indexes live only in the DDL (GiST, BRIN, trigram), and partitions are not modelled.
    relevant = [
        d for d in diff
        if not (isinstance(d, tuple) and d[0] in ("add_index", "remove_index"))
        and not (isinstance(d, tuple) and d[0] == "remove_table"
                 and re.fullmatch(r"(positions_[0-9_p]+|alarms_p[0-9_]+|(positions|alarms)_default)", d[1].name))
        and not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "spatial_ref_sys")
    ]
    assert relevant == []


def test_every_entity_of_the_spec_has_a_table(db: psycopg.Connection) -> None:
    tables = {r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    for t in ["admin_areas", "unit_grids", "eval_grids", "work_grids", "streets", "doorplates", "zones",
              "pois", "categories", "components", "waste_facilities", "vehicles", "routes", "fences",
              "positions", "alarms", "cases", "audit_log", "api_keys", "eval_draws", "waste_records"]:
        assert t in tables, t


@pytest.mark.parametrize(
    "sql, fragment",
    [
        ("INSERT INTO admin_areas (code, level, name, geom) VALUES ('31011', 'district', 'x', %s)",
         "admin_areas_code_format"),
        ("INSERT INTO admin_areas (code, level, name, geom) VALUES ('310113001', 'district', 'x', %s)",
         "admin_areas_level"),
        ("INSERT INTO admin_areas (code, level, name, geom) VALUES ('310113', 'district', 'x', "
         "ST_Multi(ST_GeomFromText('POLYGON((0 0,1 1,1 0,0 1,0 0))', 4490)) || %s)",
         "valid"),
    ],
)
def test_constraints_refuse_bad_rows(clean_db: str, sql: str, fragment: str) -> None:
    with psycopg.connect(clean_db) as conn, pytest.raises(psycopg.Error) as err:
        if "||" in sql:
            conn.execute(sql.replace(" || %s", ""))
        else:
            conn.execute(sql, (SQUARE,))
    assert fragment in str(err.value) or "invalid" in str(err.value).lower()


def test_component_id_must_carry_its_class(clean_db: str, db: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(
            "INSERT INTO components (id, major, minor, geom) VALUES "
            "('3101130102000001', '01', '01', 'SRID=4490;POINT(121.4 31.3)')"
        )
    db.execute(
        "INSERT INTO components (id, major, minor, geom) VALUES "
        "('3101130101000001', '01', '01', 'SRID=4490;POINT(121.4 31.3)')"
    )
    assert db.execute("SELECT count(*) FROM components").fetchone()[0] == 1


def test_positions_partition_created_on_demand(clean_db: str, db: psycopg.Connection) -> None:
    # A month older than pg_partman's first partition: the fix waits in the default partition until
    # positions_ensure_partition (or `citygrid db maintain`) makes its month, in partman's naming.
    db.execute("INSERT INTO positions (vehicle_id, ts, geom) VALUES "
               "('v1', '2026-03-05T08:00:00Z', 'SRID=4490;POINT(121.4 31.3)')")
    assert db.execute("SELECT positions_ensure_partition('2026-03-20T00:00:00Z')").fetchone()[0] == \
        "positions_p2026_03"
    where = db.execute("SELECT tableoid::regclass::text FROM positions").fetchone()[0]
    assert where == "positions_p2026_03"


def test_audit_log_is_append_only(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO audit_log (actor, action, target, prev_hash, hash) VALUES ('t','a','x','0','1')")
    with pytest.raises(psycopg.Error, match="append-only"):
        db.execute("UPDATE audit_log SET actor = 'evil'")
    with pytest.raises(psycopg.Error, match="append-only"):
        db.execute("DELETE FROM audit_log")
