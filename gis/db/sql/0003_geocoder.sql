-- Geocoder (issue 4): a change counter over the reference layers, so the in-memory address index
-- can tell with one cheap read whether it is stale. Statement-level triggers bump it inside the
-- writing transaction, so readers see the new version exactly when they can see the new rows.
-- Re-runnable (IF NOT EXISTS / OR REPLACE), so a database migrated while this slot was still empty can
-- be brought level by executing this file once.

CREATE TABLE IF NOT EXISTS geocoder_ref_version (
    id          smallint PRIMARY KEY DEFAULT 1,
    version     bigint NOT NULL DEFAULT 0,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT geocoder_ref_version_single CHECK (id = 1)
);
INSERT INTO geocoder_ref_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE OR REPLACE FUNCTION geocoder_ref_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE geocoder_ref_version SET version = version + 1, changed_at = now() WHERE id = 1;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER geocoder_ref_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin_areas
    FOR EACH STATEMENT EXECUTE FUNCTION geocoder_ref_bump();
CREATE OR REPLACE TRIGGER geocoder_ref_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON streets
    FOR EACH STATEMENT EXECUTE FUNCTION geocoder_ref_bump();
CREATE OR REPLACE TRIGGER geocoder_ref_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON zones
    FOR EACH STATEMENT EXECUTE FUNCTION geocoder_ref_bump();
CREATE OR REPLACE TRIGGER geocoder_ref_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON doorplates
    FOR EACH STATEMENT EXECUTE FUNCTION geocoder_ref_bump();
CREATE OR REPLACE TRIGGER geocoder_ref_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pois
    FOR EACH STATEMENT EXECUTE FUNCTION geocoder_ref_bump();
