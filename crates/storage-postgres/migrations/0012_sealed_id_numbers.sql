-- ID numbers at rest: sealed (AES-256-GCM) with the id of the key that sealed them, and
-- found through keyed hashes (HMAC-SHA256) of the whole number and its last 4 and 6
-- characters. The store seals any plaintext left by earlier versions when it opens and
-- clears id_number and id_rev, which stay only until every deployment has been sealed.

DROP INDEX residents_by_id_number;
DROP INDEX residents_by_id_rev;

ALTER TABLE residents ADD COLUMN id_key TEXT COLLATE "C";
ALTER TABLE residents ADD COLUMN id_sealed TEXT;
ALTER TABLE residents ADD COLUMN id_hash TEXT COLLATE "C";
ALTER TABLE residents ADD COLUMN id_tail4 TEXT COLLATE "C";
ALTER TABLE residents ADD COLUMN id_tail6 TEXT COLLATE "C";

CREATE UNIQUE INDEX residents_by_id_hash ON residents (district_id, id_hash);
CREATE INDEX residents_by_id_tail4 ON residents (district_id, id_tail4);
CREATE INDEX residents_by_id_tail6 ON residents (district_id, id_tail6);
