-- Area scope (issue 17, part 3): the area an API key is limited to, and the areas of vehicle fleets.

-- A key's area: a 6/9/12-digit region code (district/street/community) or a work-grid code
-- (`code`, or `kind:code` when several grid kinds share the code). NULL: not limited.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS area text;

-- The areas a fleet (vehicles.vehicle_group) works in: its vehicles, their positions, tracks and alarms
-- belong to these areas (a vehicle of a street's fleet is seen by that street and the district above).
CREATE TABLE IF NOT EXISTS fleet_areas (
    fleet      text NOT NULL,
    area_code  varchar(12) NOT NULL REFERENCES admin_areas(code) ON UPDATE CASCADE ON DELETE CASCADE,
    PRIMARY KEY (fleet, area_code)
);
CREATE INDEX IF NOT EXISTS fleet_areas_area_idx ON fleet_areas (area_code);
CREATE INDEX IF NOT EXISTS vehicles_group_idx ON vehicles (vehicle_group);

