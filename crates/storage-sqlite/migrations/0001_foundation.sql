-- The foundation: tree, registry, party organisations, units, posts, accounts, audit.
-- Every row carries district_id (the tenant); keys are (district_id, id) so a sharded
-- PostgreSQL could distribute by district. Instants are UTC milliseconds; dates ISO text.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE nodes (
    district_id TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent_id TEXT,
    street_id TEXT,
    community_id TEXT,
    grid_id TEXT,
    compound_id TEXT,
    building_id TEXT,
    entrance_id TEXT,
    name TEXT NOT NULL,
    code TEXT,
    sort_key INTEGER NOT NULL,
    lon REAL,
    lat REAL,
    geometry TEXT,
    address TEXT,
    extra TEXT NOT NULL DEFAULT '{}',
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
    district_id TEXT NOT NULL,
    id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    street_id TEXT NOT NULL,
    community_id TEXT NOT NULL,
    grid_id TEXT NOT NULL,
    compound_id TEXT NOT NULL,
    building_id TEXT NOT NULL,
    entrance_id TEXT NOT NULL,
    name TEXT NOT NULL,
    gender TEXT NOT NULL,
    birth_date TEXT,
    ethnicity TEXT,
    id_number TEXT,
    id_rev TEXT,
    phone TEXT,
    relation TEXT NOT NULL,
    status TEXT NOT NULL,
    group_bits INTEGER NOT NULL DEFAULT 0,
    search_text TEXT NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}',
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
    district_id TEXT NOT NULL,
    id TEXT NOT NULL,
    parent_id TEXT,
    node_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (district_id, id),
    FOREIGN KEY (district_id, parent_id) REFERENCES party_orgs (district_id, id),
    FOREIGN KEY (district_id, node_id) REFERENCES nodes (district_id, id)
);
CREATE INDEX party_orgs_by_node ON party_orgs (district_id, node_id);

CREATE TABLE units (
    district_id TEXT NOT NULL,
    id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    credit_code TEXT,
    contact TEXT,
    phone TEXT,
    extra TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (district_id, id),
    FOREIGN KEY (district_id, node_id) REFERENCES nodes (district_id, id)
);
CREATE INDEX units_by_node ON units (district_id, node_id);

CREATE TABLE posts (
    district_id TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    node_id TEXT NOT NULL,
    party_org_id TEXT,
    unit_id TEXT,
    holder_name TEXT NOT NULL,
    resident_id TEXT,
    user_id TEXT,
    phone TEXT,
    employment TEXT,
    origin TEXT,
    department TEXT,
    categories TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (district_id, id),
    FOREIGN KEY (district_id, node_id) REFERENCES nodes (district_id, id)
);
CREATE INDEX posts_by_node ON posts (district_id, node_id);

CREATE TABLE post_households (
    district_id TEXT NOT NULL,
    post_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    PRIMARY KEY (district_id, post_id, household_id),
    FOREIGN KEY (district_id, post_id) REFERENCES posts (district_id, id),
    FOREIGN KEY (district_id, household_id) REFERENCES nodes (district_id, id)
);

CREATE TABLE field_defs (
    district_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    field_key TEXT NOT NULL,
    label TEXT NOT NULL,
    field_type TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (district_id, entity, field_key)
);

-- Accounts are looked up by username before the district is known, so usernames are
-- unique across the database (on a sharded PostgreSQL this is a reference table).
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    district_id TEXT NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_demo INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE grants (
    district_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    node_id TEXT NOT NULL,
    PRIMARY KEY (district_id, user_id, role, node_id),
    FOREIGN KEY (district_id, node_id) REFERENCES nodes (district_id, id)
);
CREATE INDEX grants_by_user ON grants (user_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    district_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE audit_log (
    district_id TEXT NOT NULL,
    id TEXT NOT NULL,
    at INTEGER NOT NULL,
    user_id TEXT,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    ip TEXT,
    detail TEXT NOT NULL,
    PRIMARY KEY (district_id, id)
);
CREATE INDEX audit_log_by_time ON audit_log (district_id, at);
