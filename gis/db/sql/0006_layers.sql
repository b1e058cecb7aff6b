-- Heat layers (issue 5): each point table that can be a heat source keeps the H3 cell of its point at
-- resolution 15. A cell id encodes its resolution and its ancestors' digits, so the parent at any coarser
-- resolution is bit arithmetic, and the descendants of a cell are one contiguous id range: a viewport
-- becomes a handful of btree range scans of a covering index, aggregated by parent (no per-row Python).
-- PostgreSQL cannot compute H3 itself (no h3-pg here), so layers.cells fills NULL cells set-based (numpy +
-- one UPDATE … FROM unnest) before a source is read; a moved point gets its cell nulled by the trigger.

CREATE OR REPLACE FUNCTION h3_cell_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.geom IS DISTINCT FROM OLD.geom AND NEW.h3_cell IS NOT DISTINCT FROM OLD.h3_cell THEN
        NEW.h3_cell := NULL;
    END IF;
    RETURN NEW;
END $$;

ALTER TABLE cases ADD COLUMN IF NOT EXISTS h3_cell bigint;
CREATE INDEX IF NOT EXISTS cases_h3_idx ON cases (h3_cell) INCLUDE (reported_at, weight, major, minor, source);
CREATE INDEX IF NOT EXISTS cases_h3_missing_idx ON cases (id) WHERE h3_cell IS NULL;
CREATE TRIGGER cases_h3_reset BEFORE UPDATE OF geom ON cases
    FOR EACH ROW EXECUTE FUNCTION h3_cell_reset();

ALTER TABLE waste_records ADD COLUMN IF NOT EXISTS h3_cell bigint;
CREATE INDEX IF NOT EXISTS waste_records_h3_idx ON waste_records (h3_cell) INCLUDE (ts, tonnes, waste_kind);
CREATE INDEX IF NOT EXISTS waste_records_h3_missing_idx ON waste_records (id) WHERE h3_cell IS NULL;
CREATE TRIGGER waste_records_h3_reset BEFORE UPDATE OF geom ON waste_records
    FOR EACH ROW EXECUTE FUNCTION h3_cell_reset();

ALTER TABLE components ADD COLUMN IF NOT EXISTS h3_cell bigint;
CREATE INDEX IF NOT EXISTS components_h3_idx ON components (h3_cell) INCLUDE (major, minor);
CREATE INDEX IF NOT EXISTS components_h3_missing_idx ON components (id) WHERE h3_cell IS NULL;
CREATE TRIGGER components_h3_reset BEFORE UPDATE OF geom ON components
    FOR EACH ROW EXECUTE FUNCTION h3_cell_reset();

ALTER TABLE pois ADD COLUMN IF NOT EXISTS h3_cell bigint;
CREATE INDEX IF NOT EXISTS pois_h3_idx ON pois (h3_cell) INCLUDE (category);
CREATE INDEX IF NOT EXISTS pois_h3_missing_idx ON pois (poi_id) WHERE h3_cell IS NULL;
CREATE TRIGGER pois_h3_reset BEFORE UPDATE OF geom ON pois
    FOR EACH ROW EXECUTE FUNCTION h3_cell_reset();

ALTER TABLE doorplates ADD COLUMN IF NOT EXISTS h3_cell bigint;
CREATE INDEX IF NOT EXISTS doorplates_h3_idx ON doorplates (h3_cell);
CREATE INDEX IF NOT EXISTS doorplates_h3_missing_idx ON doorplates (add_id) WHERE h3_cell IS NULL;
CREATE TRIGGER doorplates_h3_reset BEFORE UPDATE OF geom ON doorplates
    FOR EACH ROW EXECUTE FUNCTION h3_cell_reset();

ALTER TABLE waste_facilities ADD COLUMN IF NOT EXISTS h3_cell bigint;
CREATE INDEX IF NOT EXISTS waste_facilities_h3_idx ON waste_facilities (h3_cell) INCLUDE (kind, capacity_tpd);
CREATE INDEX IF NOT EXISTS waste_facilities_h3_missing_idx ON waste_facilities (id) WHERE h3_cell IS NULL;
CREATE TRIGGER waste_facilities_h3_reset BEFORE UPDATE OF geom ON waste_facilities
    FOR EACH ROW EXECUTE FUNCTION h3_cell_reset();

-- Time-first path: when the time window holds few rows, an index-only scan of the window filtered by cell
-- beats scanning every point of the viewport.
CREATE INDEX IF NOT EXISTS cases_time_h3_idx ON cases (reported_at) INCLUDE (h3_cell, weight, major, minor, source);
CREATE INDEX IF NOT EXISTS waste_records_time_h3_idx ON waste_records (ts) INCLUDE (h3_cell, tonnes, waste_kind);
