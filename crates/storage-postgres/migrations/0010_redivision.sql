-- Re-division proposals (seed 002): a community's new grids, their figures and the moves,
-- stored as the API returned them, with the digest of the division they were made from.
CREATE TABLE redivision_proposals (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    community_id TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT COLLATE "C" NOT NULL,
    body TEXT NOT NULL,
    applied_at BIGINT,
    PRIMARY KEY (district_id, id)
);
CREATE INDEX redivision_proposals_by_community
    ON redivision_proposals (district_id, community_id, created_at);
