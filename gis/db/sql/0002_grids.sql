-- Grid engine (issue 3): the grid-change log (versions for the in-memory locate index and mobile sync),
-- safe sequence allocation for codes, and automatic unit-grid assignment of positioned records.
-- Written to be re-runnable (IF NOT EXISTS / OR REPLACE) so a database migrated while this slot was
-- still empty can be brought level by executing this file once.

-- One row per changed grid row, appended by triggers inside the writing transaction. The highest
-- version is the counter the locate index compares against per request; `since` queries read the rows.
CREATE TABLE IF NOT EXISTS grid_changes (
    version  bigserial PRIMARY KEY,
    layer    text NOT NULL,
    key      text,                      -- code (id for work grids); NULL for a TRUNCATE (full reset)
    op       text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT grid_changes_layer CHECK (layer IN ('admin', 'unit', 'eval', 'work')),
    CONSTRAINT grid_changes_op CHECK (op IN ('insert', 'update', 'delete', 'truncate'))
);
CREATE INDEX IF NOT EXISTS grid_changes_layer_idx ON grid_changes (layer, version);

CREATE OR REPLACE FUNCTION grid_changes_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    layer    text := TG_ARGV[0];
    key_col  text := TG_ARGV[1];   -- code, or id for work grids
    old_key  text;
    new_key  text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO grid_changes (layer, key, op) VALUES (layer, NULL, 'truncate');
        RETURN NULL;
    END IF;
    -- Separate statements per key column: PL/pgSQL plans NEW.<field> only where it runs, and trigger
    -- functions are compiled per table, so each table only ever sees its own column (no to_jsonb(NEW),
    -- which would serialise the whole geometry on every row of a bulk load).
    IF key_col = 'id' THEN
        IF TG_OP <> 'INSERT' THEN old_key := OLD.id::text; END IF;
        IF TG_OP <> 'DELETE' THEN new_key := NEW.id::text; END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN old_key := OLD.code; END IF;
        IF TG_OP <> 'DELETE' THEN new_key := NEW.code; END IF;
    END IF;
    IF TG_OP = 'UPDATE' AND old_key IS DISTINCT FROM new_key THEN
        -- A changed key is a delete of the old one and an insert of the new one.
        INSERT INTO grid_changes (layer, key, op) VALUES (layer, old_key, 'delete'), (layer, new_key, 'insert');
    ELSE
        INSERT INTO grid_changes (layer, key, op) VALUES (layer, coalesce(new_key, old_key), lower(TG_OP));
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS grid_changes_row ON admin_areas;
DROP TRIGGER IF EXISTS grid_changes_truncate ON admin_areas;
DROP TRIGGER IF EXISTS grid_changes_row ON unit_grids;
DROP TRIGGER IF EXISTS grid_changes_truncate ON unit_grids;
DROP TRIGGER IF EXISTS grid_changes_row ON eval_grids;
DROP TRIGGER IF EXISTS grid_changes_truncate ON eval_grids;
DROP TRIGGER IF EXISTS grid_changes_row ON work_grids;
DROP TRIGGER IF EXISTS grid_changes_truncate ON work_grids;
CREATE TRIGGER grid_changes_row AFTER INSERT OR UPDATE OR DELETE ON admin_areas
    FOR EACH ROW EXECUTE FUNCTION grid_changes_log('admin', 'code');
CREATE TRIGGER grid_changes_truncate AFTER TRUNCATE ON admin_areas
    FOR EACH STATEMENT EXECUTE FUNCTION grid_changes_log('admin', 'code');
CREATE TRIGGER grid_changes_row AFTER INSERT OR UPDATE OR DELETE ON unit_grids
    FOR EACH ROW EXECUTE FUNCTION grid_changes_log('unit', 'code');
CREATE TRIGGER grid_changes_truncate AFTER TRUNCATE ON unit_grids
    FOR EACH STATEMENT EXECUTE FUNCTION grid_changes_log('unit', 'code');
CREATE TRIGGER grid_changes_row AFTER INSERT OR UPDATE OR DELETE ON eval_grids
    FOR EACH ROW EXECUTE FUNCTION grid_changes_log('eval', 'code');
CREATE TRIGGER grid_changes_truncate AFTER TRUNCATE ON eval_grids
    FOR EACH STATEMENT EXECUTE FUNCTION grid_changes_log('eval', 'code');
CREATE TRIGGER grid_changes_row AFTER INSERT OR UPDATE OR DELETE ON work_grids
    FOR EACH ROW EXECUTE FUNCTION grid_changes_log('work', 'id');
CREATE TRIGGER grid_changes_truncate AFTER TRUNCATE ON work_grids
    FOR EACH STATEMENT EXECUTE FUNCTION grid_changes_log('work', 'id');

-- Last sequence number handed out per (code kind, parent code). Allocation is one upsert whose row
-- lock serialises concurrent callers; it starts above the highest code already stored.
CREATE TABLE IF NOT EXISTS code_sequences (
    kind      text NOT NULL,
    parent    text NOT NULL,
    last_seq  integer NOT NULL,
    PRIMARY KEY (kind, parent),
    CONSTRAINT code_sequences_kind CHECK (kind IN ('street', 'community', 'unit_grid', 'eval_grid', 'component'))
);

-- Automatic assignment: the unit grid of a positioned record is the SMALLEST code among the unit grids
-- that intersect its point (the same tie rule as the in-memory locate index, so points on shared edges
-- and vertices resolve identically). A supplied code that disagrees is refused with both codes.
CREATE OR REPLACE FUNCTION assign_unit_grid() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    found  varchar(15);
    label  text;
BEGIN
    IF NEW.geom IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT u.code INTO found FROM unit_grids u WHERE ST_Intersects(u.geom, NEW.geom) ORDER BY u.code LIMIT 1;
    -- On UPDATE of the position alone, the old code is not a claim about the new position: re-derive.
    IF TG_OP = 'UPDATE' AND NEW.unit_grid_code IS NOT DISTINCT FROM OLD.unit_grid_code
       AND NOT ST_Equals(NEW.geom, OLD.geom) THEN
        NEW.unit_grid_code := NULL;
    END IF;
    IF NEW.unit_grid_code IS NULL THEN
        NEW.unit_grid_code := found;
    ELSIF found IS NULL OR found <> NEW.unit_grid_code THEN
        IF TG_TABLE_NAME = 'components' THEN
            label := 'component ' || NEW.id;
        ELSIF TG_TABLE_NAME = 'cases' THEN
            label := 'case ' || coalesce(NEW.code, NEW.id::text);
        ELSE
            label := 'waste facility ' || coalesce(NEW.code, NEW.name);
        END IF;
        RAISE EXCEPTION 'unit grid % given for % but its position lies %', NEW.unit_grid_code, label,
            CASE WHEN found IS NULL THEN 'outside every unit grid' ELSE 'in ' || found END
            USING ERRCODE = 'check_violation', HINT = 'omit unit_grid_code to have it derived from the position';
    END IF;
    IF TG_TABLE_NAME = 'waste_facilities' THEN
        IF NEW.unit_grid_code IS NOT NULL AND NEW.district_code IS NULL THEN
            NEW.district_code := left(NEW.unit_grid_code, 6);
        END IF;
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS assign_unit_grid ON components;
DROP TRIGGER IF EXISTS assign_unit_grid ON waste_facilities;
DROP TRIGGER IF EXISTS assign_unit_grid ON cases;
CREATE TRIGGER assign_unit_grid BEFORE INSERT OR UPDATE OF geom, unit_grid_code ON components
    FOR EACH ROW EXECUTE FUNCTION assign_unit_grid();
CREATE TRIGGER assign_unit_grid BEFORE INSERT OR UPDATE OF geom, unit_grid_code ON waste_facilities
    FOR EACH ROW EXECUTE FUNCTION assign_unit_grid();
CREATE TRIGGER assign_unit_grid BEFORE INSERT OR UPDATE OF geom, unit_grid_code ON cases
    FOR EACH ROW EXECUTE FUNCTION assign_unit_grid();
