-- Service stations (党群服务站, 便民服务站): the 15-minute service circle of seed 000 is
-- drawn around them. Positions are WGS-84 degrees.
CREATE TABLE service_stations (
    district_id TEXT NOT NULL,
    id TEXT NOT NULL,
    community_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (district_id, id)
);

-- Each district's grid rules: the "四维" score thresholds and reference values, and the
-- walk of the service circle. No row means the defaults.
CREATE TABLE grid_rules (
    district_id TEXT NOT NULL PRIMARY KEY,
    households_over INTEGER NOT NULL,
    large_area_km2 REAL NOT NULL,
    special_share_over REAL NOT NULL,
    reference_area_km2 REAL NOT NULL,
    reference_density REAL NOT NULL,
    reference_special_share REAL NOT NULL,
    reference_places REAL NOT NULL,
    walk_minutes REAL NOT NULL,
    walk_speed_kmh REAL NOT NULL,
    detour_factor REAL NOT NULL,
    updated_at INTEGER NOT NULL
);
