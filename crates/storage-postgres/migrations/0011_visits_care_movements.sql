-- Home visits and patrols (走访, 巡查) with the households each one called on, and the
-- floating population's moves in and out. A visit's place is its grid's path columns; a
-- visited household is repeated with the visit's time so "not visited since" is one
-- indexed range per household. No photo, track or check-in is kept (national rules).
CREATE TABLE visits (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    street_id TEXT COLLATE "C" NOT NULL,
    community_id TEXT COLLATE "C" NOT NULL,
    grid_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    visited_at BIGINT NOT NULL,
    minutes BIGINT NOT NULL,
    visitor_id TEXT COLLATE "C" NOT NULL,
    visitor_name TEXT COLLATE "C" NOT NULL,
    findings TEXT COLLATE "C" NOT NULL,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    request_id TEXT COLLATE "C",
    PRIMARY KEY (district_id, id)
);
CREATE INDEX visits_by_grid ON visits (district_id, grid_id, visited_at);
CREATE INDEX visits_by_community ON visits (district_id, community_id, visited_at);
CREATE INDEX visits_by_visitor ON visits (district_id, visitor_id, visited_at);

CREATE TABLE visit_households (
    district_id TEXT COLLATE "C" NOT NULL,
    visit_id TEXT COLLATE "C" NOT NULL,
    household_id TEXT COLLATE "C" NOT NULL,
    visited_at BIGINT NOT NULL,
    PRIMARY KEY (district_id, visit_id, household_id),
    FOREIGN KEY (district_id, visit_id) REFERENCES visits (district_id, id),
    FOREIGN KEY (district_id, household_id) REFERENCES nodes (district_id, id)
);
CREATE INDEX visit_households_by_household ON visit_households (district_id, household_id, visited_at);

-- `seq` numbers a resident's moves from 1; the unique key makes two concurrent moves of
-- one resident collide instead of both landing.
CREATE TABLE movements (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    resident_id TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    household_id TEXT COLLATE "C" NOT NULL,
    street_id TEXT COLLATE "C" NOT NULL,
    community_id TEXT COLLATE "C" NOT NULL,
    grid_id TEXT COLLATE "C" NOT NULL,
    compound_id TEXT COLLATE "C" NOT NULL,
    building_id TEXT COLLATE "C" NOT NULL,
    entrance_id TEXT COLLATE "C" NOT NULL,
    direction TEXT COLLATE "C" NOT NULL,
    on_date TEXT COLLATE "C" NOT NULL,
    reason TEXT COLLATE "C" NOT NULL,
    recorded_by TEXT COLLATE "C" NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (district_id, id),
    FOREIGN KEY (district_id, resident_id) REFERENCES residents (district_id, id)
);
CREATE UNIQUE INDEX movements_by_resident ON movements (district_id, resident_id, seq);
CREATE INDEX movements_by_grid ON movements (district_id, grid_id, on_date);
CREATE INDEX movements_by_community ON movements (district_id, community_id, on_date);
CREATE INDEX movements_by_street ON movements (district_id, street_id, on_date);

-- Elderly care: one health record per resident aged 65+, family sickbeds (家庭病床) with
-- their visit interval and the day of the last visit (kept with the schedule so "overdue"
-- needs no aggregate), and the visits themselves.
CREATE TABLE health_records (
    district_id TEXT COLLATE "C" NOT NULL,
    resident_id TEXT COLLATE "C" NOT NULL,
    household_id TEXT COLLATE "C" NOT NULL,
    street_id TEXT COLLATE "C" NOT NULL,
    community_id TEXT COLLATE "C" NOT NULL,
    grid_id TEXT COLLATE "C" NOT NULL,
    conditions TEXT COLLATE "C" NOT NULL,
    care_team TEXT COLLATE "C" NOT NULL,
    notes TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (district_id, resident_id),
    FOREIGN KEY (district_id, resident_id) REFERENCES residents (district_id, id)
);

CREATE TABLE sickbeds (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    resident_id TEXT COLLATE "C" NOT NULL,
    household_id TEXT COLLATE "C" NOT NULL,
    street_id TEXT COLLATE "C" NOT NULL,
    community_id TEXT COLLATE "C" NOT NULL,
    grid_id TEXT COLLATE "C" NOT NULL,
    care_team TEXT COLLATE "C" NOT NULL,
    every_days BIGINT NOT NULL,
    starts_on TEXT COLLATE "C" NOT NULL,
    last_visit_on TEXT COLLATE "C",
    created_at BIGINT NOT NULL,
    PRIMARY KEY (district_id, id),
    FOREIGN KEY (district_id, resident_id) REFERENCES residents (district_id, id)
);
CREATE INDEX sickbeds_by_grid ON sickbeds (district_id, grid_id);
CREATE INDEX sickbeds_by_community ON sickbeds (district_id, community_id);
CREATE INDEX sickbeds_by_street ON sickbeds (district_id, street_id);

CREATE TABLE sickbed_visits (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    sickbed_id TEXT COLLATE "C" NOT NULL,
    visited_on TEXT COLLATE "C" NOT NULL,
    note TEXT COLLATE "C" NOT NULL,
    recorded_by TEXT COLLATE "C" NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (district_id, id),
    FOREIGN KEY (district_id, sickbed_id) REFERENCES sickbeds (district_id, id)
);
CREATE INDEX sickbed_visits_by_sickbed ON sickbed_visits (district_id, sickbed_id, visited_on);
