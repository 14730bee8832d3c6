-- Service stations (党群服务站, 便民服务站): the 15-minute service circle of seed 000 is
-- drawn around them. Positions are WGS-84 degrees.
CREATE TABLE service_stations (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    community_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (district_id, id)
);

-- Each district's grid rules: the "四维" score thresholds and reference values, and the
-- walk of the service circle. No row means the defaults.
CREATE TABLE grid_rules (
    district_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    households_over BIGINT NOT NULL,
    large_area_km2 DOUBLE PRECISION NOT NULL,
    special_share_over DOUBLE PRECISION NOT NULL,
    reference_area_km2 DOUBLE PRECISION NOT NULL,
    reference_density DOUBLE PRECISION NOT NULL,
    reference_special_share DOUBLE PRECISION NOT NULL,
    reference_places DOUBLE PRECISION NOT NULL,
    walk_minutes DOUBLE PRECISION NOT NULL,
    walk_speed_kmh DOUBLE PRECISION NOT NULL,
    detour_factor DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL
);
