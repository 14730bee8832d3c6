-- PostgreSQL twin of the SQLite schema: same tables and columns. Text columns use the
-- "C" collation so ordering and range comparisons agree with SQLite's binary collation.
-- The foundation: tree, registry, party organisations, units, posts, accounts, audit.
-- Every row carries district_id (the tenant); keys are (district_id, id) so a sharded
-- PostgreSQL could distribute by district. Instants are UTC milliseconds; dates ISO text.

CREATE TABLE meta (
    key TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);

CREATE TABLE nodes (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    parent_id TEXT COLLATE "C",
    street_id TEXT COLLATE "C",
    community_id TEXT COLLATE "C",
    grid_id TEXT COLLATE "C",
    compound_id TEXT COLLATE "C",
    building_id TEXT COLLATE "C",
    entrance_id TEXT COLLATE "C",
    name TEXT COLLATE "C" NOT NULL,
    code TEXT COLLATE "C",
    sort_key BIGINT NOT NULL,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    geometry TEXT COLLATE "C",
    address TEXT COLLATE "C",
    extra TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    PRIMARY KEY (district_id, id),
    FOREIGN KEY (district_id, parent_id) REFERENCES nodes (district_id, id)
);
CREATE INDEX nodes_by_parent ON nodes (district_id, parent_id, sort_key);
CREATE INDEX nodes_by_kind ON nodes (district_id, kind);
CREATE INDEX nodes_by_code ON nodes (code);
CREATE INDEX nodes_by_street ON nodes (district_id, street_id, kind);
CREATE INDEX nodes_by_community ON nodes (district_id, community_id, kind);
CREATE INDEX nodes_by_grid ON nodes (district_id, grid_id, kind);
CREATE INDEX nodes_by_compound ON nodes (district_id, compound_id, kind);
CREATE INDEX nodes_by_building ON nodes (district_id, building_id, kind);
CREATE INDEX nodes_by_entrance ON nodes (district_id, entrance_id, kind);

CREATE TABLE residents (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    household_id TEXT COLLATE "C" NOT NULL,
    street_id TEXT COLLATE "C" NOT NULL,
    community_id TEXT COLLATE "C" NOT NULL,
    grid_id TEXT COLLATE "C" NOT NULL,
    compound_id TEXT COLLATE "C" NOT NULL,
    building_id TEXT COLLATE "C" NOT NULL,
    entrance_id TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    gender TEXT COLLATE "C" NOT NULL,
    birth_date TEXT COLLATE "C",
    ethnicity TEXT COLLATE "C",
    id_number TEXT COLLATE "C",
    id_rev TEXT COLLATE "C",
    phone TEXT COLLATE "C",
    relation TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    group_bits BIGINT NOT NULL DEFAULT 0,
    search_text TEXT COLLATE "C" NOT NULL,
    extra TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    PRIMARY KEY (district_id, id),
    FOREIGN KEY (district_id, household_id) REFERENCES nodes (district_id, id)
);
CREATE UNIQUE INDEX residents_by_id_number ON residents (district_id, id_number);
CREATE INDEX residents_by_id_rev ON residents (district_id, id_rev);
CREATE INDEX residents_by_household ON residents (district_id, household_id);
CREATE INDEX residents_by_street ON residents (district_id, street_id, name, id, search_text);
CREATE INDEX residents_by_community ON residents (district_id, community_id, name, id, search_text);
CREATE INDEX residents_by_grid ON residents (district_id, grid_id, name, id, search_text);
CREATE INDEX residents_by_compound ON residents (district_id, compound_id);
CREATE INDEX residents_by_building ON residents (district_id, building_id);
CREATE INDEX residents_by_entrance ON residents (district_id, entrance_id);
-- Searches walk these in name order and test search_text inside the index, so only
-- matching rows are fetched (a substring search cannot use an index any other way).
CREATE INDEX residents_by_name ON residents (district_id, name, id, search_text);

CREATE TABLE party_orgs (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    parent_id TEXT COLLATE "C",
    node_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (district_id, id),
    FOREIGN KEY (district_id, parent_id) REFERENCES party_orgs (district_id, id),
    FOREIGN KEY (district_id, node_id) REFERENCES nodes (district_id, id)
);
CREATE INDEX party_orgs_by_node ON party_orgs (district_id, node_id);

CREATE TABLE units (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    node_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    credit_code TEXT COLLATE "C",
    contact TEXT COLLATE "C",
    phone TEXT COLLATE "C",
    extra TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    PRIMARY KEY (district_id, id),
    FOREIGN KEY (district_id, node_id) REFERENCES nodes (district_id, id)
);
CREATE INDEX units_by_node ON units (district_id, node_id);

CREATE TABLE posts (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    node_id TEXT COLLATE "C" NOT NULL,
    party_org_id TEXT COLLATE "C",
    unit_id TEXT COLLATE "C",
    holder_name TEXT COLLATE "C" NOT NULL,
    resident_id TEXT COLLATE "C",
    user_id TEXT COLLATE "C",
    phone TEXT COLLATE "C",
    employment TEXT COLLATE "C",
    origin TEXT COLLATE "C",
    department TEXT COLLATE "C",
    categories TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    PRIMARY KEY (district_id, id),
    FOREIGN KEY (district_id, node_id) REFERENCES nodes (district_id, id)
);
CREATE INDEX posts_by_node ON posts (district_id, node_id);

CREATE TABLE post_households (
    district_id TEXT COLLATE "C" NOT NULL,
    post_id TEXT COLLATE "C" NOT NULL,
    household_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (district_id, post_id, household_id),
    FOREIGN KEY (district_id, post_id) REFERENCES posts (district_id, id),
    FOREIGN KEY (district_id, household_id) REFERENCES nodes (district_id, id)
);

CREATE TABLE field_defs (
    district_id TEXT COLLATE "C" NOT NULL,
    entity TEXT COLLATE "C" NOT NULL,
    field_key TEXT COLLATE "C" NOT NULL,
    label TEXT COLLATE "C" NOT NULL,
    field_type TEXT COLLATE "C" NOT NULL,
    options TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    PRIMARY KEY (district_id, entity, field_key)
);

-- Accounts are looked up by username before the district is known, so usernames are
-- unique across the database (on a sharded PostgreSQL this is a reference table).
CREATE TABLE users (
    id TEXT COLLATE "C" PRIMARY KEY,
    district_id TEXT COLLATE "C" NOT NULL,
    username TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name TEXT COLLATE "C" NOT NULL,
    password_hash TEXT COLLATE "C" NOT NULL,
    is_demo BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE grants (
    district_id TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL,
    node_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (district_id, user_id, role, node_id),
    FOREIGN KEY (district_id, node_id) REFERENCES nodes (district_id, id)
);
CREATE INDEX grants_by_user ON grants (user_id);

CREATE TABLE sessions (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL,
    district_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    csrf_token TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE audit_log (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    at BIGINT NOT NULL,
    user_id TEXT COLLATE "C",
    username TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    target_kind TEXT COLLATE "C" NOT NULL,
    target_id TEXT COLLATE "C" NOT NULL,
    ip TEXT COLLATE "C",
    detail TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (district_id, id)
);
CREATE INDEX audit_log_by_time ON audit_log (district_id, at);
