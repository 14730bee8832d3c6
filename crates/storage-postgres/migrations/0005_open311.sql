-- Open311 GeoReport v2 clients' API keys. Only the SHA-256 of a key is kept; the key is
-- shown once when issued (`mulin open311-key create`).
CREATE TABLE open311_keys (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    key_hash TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (district_id, id)
);
CREATE UNIQUE INDEX open311_keys_by_name ON open311_keys (district_id, name);
-- Keys are 256 random bits, so their hashes do not collide; looked up without a district.
CREATE INDEX open311_keys_by_hash ON open311_keys (key_hash);
-- GET requests filters by catalogue code inside a district and period.
CREATE INDEX requests_by_service ON requests (district_id, service_code, received_at);
