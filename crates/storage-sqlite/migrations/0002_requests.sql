-- Requests (诉求) with their deadlines and timeline, and in-app notifications.
-- A request's place is stored as the path columns of the deepest node known, so scoping is
-- one indexed equality like everywhere else; its deadlines are UTC milliseconds and
-- `next_due_at` is the earliest one still owed, which the scheduler polls.

CREATE TABLE requests (
    district_id TEXT NOT NULL,
    id TEXT NOT NULL,
    place_kind TEXT NOT NULL,
    street_id TEXT,
    community_id TEXT,
    grid_id TEXT,
    compound_id TEXT,
    building_id TEXT,
    entrance_id TEXT,
    household_id TEXT,
    address TEXT,
    lon REAL,
    lat REAL,
    service_code TEXT NOT NULL,
    severity TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    level TEXT NOT NULL,
    whistle_open INTEGER NOT NULL DEFAULT 0,
    whistle_acknowledged INTEGER NOT NULL DEFAULT 0,
    extension_pending INTEGER,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    reporter_name TEXT,
    reporter_phone TEXT,
    submitted_by TEXT,
    received_at INTEGER NOT NULL,
    arrive_due INTEGER NOT NULL,
    resolve_due INTEGER NOT NULL,
    arrived_at INTEGER,
    resolved_at INTEGER,
    closed_at INTEGER,
    handling_ms INTEGER,
    rating INTEGER,
    arrive_breached INTEGER NOT NULL DEFAULT 0,
    resolve_breached INTEGER NOT NULL DEFAULT 0,
    whistle_department TEXT,
    whistle_liaison TEXT,
    whistle_due INTEGER,
    whistle_breached INTEGER NOT NULL DEFAULT 0,
    external_ref TEXT,
    merged_into TEXT,
    next_due_at INTEGER,
    seq INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (district_id, id)
);
CREATE INDEX requests_by_street ON requests (district_id, street_id, received_at);
CREATE INDEX requests_by_community ON requests (district_id, community_id, received_at);
CREATE INDEX requests_by_grid ON requests (district_id, grid_id, received_at);
CREATE INDEX requests_by_received ON requests (district_id, received_at);
CREATE INDEX requests_by_submitter ON requests (district_id, submitted_by, received_at);
CREATE INDEX requests_by_liaison ON requests (district_id, whistle_liaison);
-- A hotline work order is taken in once: its order number is unique in the district.
CREATE UNIQUE INDEX requests_by_external_ref ON requests (district_id, external_ref);
-- The scheduler's poll: every district's owed deadlines in time order.
CREATE INDEX requests_by_next_due ON requests (next_due_at);

CREATE TABLE request_events (
    district_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    note TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (district_id, request_id, seq),
    FOREIGN KEY (district_id, request_id) REFERENCES requests (district_id, id)
);

CREATE TABLE notifications (
    district_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    request_id TEXT NOT NULL,
    body TEXT NOT NULL,
    is_read INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (district_id, id)
);
CREATE INDEX notifications_by_user ON notifications (user_id, at);

-- A community's own deadline policy (none: the default "1341"). Each limit is stored as
-- "<kind>:<amount>", e.g. "clock:15" or "working_days:7".
CREATE TABLE deadline_policies (
    district_id TEXT NOT NULL,
    community_id TEXT NOT NULL,
    arrive TEXT NOT NULL,
    resolve_ordinary TEXT NOT NULL,
    resolve_complex TEXT NOT NULL,
    resolve_major TEXT NOT NULL,
    whistle_acknowledge TEXT NOT NULL,
    verify TEXT NOT NULL,
    max_extensions INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (district_id, community_id)
);
