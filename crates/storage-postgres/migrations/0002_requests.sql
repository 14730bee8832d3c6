-- Requests (诉求) with their deadlines and timeline, and in-app notifications.
-- A request's place is stored as the path columns of the deepest node known, so scoping is
-- one indexed equality like everywhere else; its deadlines are UTC milliseconds and
-- `next_due_at` is the earliest one still owed, which the scheduler polls.

CREATE TABLE requests (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    place_kind TEXT COLLATE "C" NOT NULL,
    street_id TEXT COLLATE "C",
    community_id TEXT COLLATE "C",
    grid_id TEXT COLLATE "C",
    compound_id TEXT COLLATE "C",
    building_id TEXT COLLATE "C",
    entrance_id TEXT COLLATE "C",
    household_id TEXT COLLATE "C",
    address TEXT COLLATE "C",
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    service_code TEXT COLLATE "C" NOT NULL,
    severity TEXT COLLATE "C" NOT NULL,
    channel TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    level TEXT COLLATE "C" NOT NULL,
    whistle_open BIGINT NOT NULL DEFAULT 0,
    whistle_acknowledged BIGINT NOT NULL DEFAULT 0,
    extension_pending BIGINT,
    title TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL,
    reporter_name TEXT COLLATE "C",
    reporter_phone TEXT COLLATE "C",
    submitted_by TEXT COLLATE "C",
    received_at BIGINT NOT NULL,
    arrive_due BIGINT NOT NULL,
    resolve_due BIGINT NOT NULL,
    arrived_at BIGINT,
    resolved_at BIGINT,
    closed_at BIGINT,
    handling_ms BIGINT,
    rating BIGINT,
    arrive_breached BIGINT NOT NULL DEFAULT 0,
    resolve_breached BIGINT NOT NULL DEFAULT 0,
    whistle_department TEXT COLLATE "C",
    whistle_liaison TEXT COLLATE "C",
    whistle_due BIGINT,
    whistle_breached BIGINT NOT NULL DEFAULT 0,
    external_ref TEXT COLLATE "C",
    merged_into TEXT COLLATE "C",
    next_due_at BIGINT,
    seq BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
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
    district_id TEXT COLLATE "C" NOT NULL,
    request_id TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    actor_id TEXT COLLATE "C",
    actor_name TEXT COLLATE "C" NOT NULL,
    note TEXT COLLATE "C" NOT NULL,
    data TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    PRIMARY KEY (district_id, request_id, seq),
    FOREIGN KEY (district_id, request_id) REFERENCES requests (district_id, id)
);

CREATE TABLE notifications (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    request_id TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL,
    is_read BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (district_id, id)
);
CREATE INDEX notifications_by_user ON notifications (user_id, at);

-- A community's own deadline policy (none: the default "1341"). Each limit is stored as
-- "<kind>:<amount>", e.g. "clock:15" or "working_days:7".
CREATE TABLE deadline_policies (
    district_id TEXT COLLATE "C" NOT NULL,
    community_id TEXT COLLATE "C" NOT NULL,
    arrive TEXT COLLATE "C" NOT NULL,
    resolve_ordinary TEXT COLLATE "C" NOT NULL,
    resolve_complex TEXT COLLATE "C" NOT NULL,
    resolve_major TEXT COLLATE "C" NOT NULL,
    whistle_acknowledge TEXT COLLATE "C" NOT NULL,
    verify TEXT COLLATE "C" NOT NULL,
    max_extensions BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (district_id, community_id)
);
