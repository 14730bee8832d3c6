-- The KPI rollup stored in its key's order (WITHOUT ROWID): a period's figures are a range
-- of one scope's days, which now lies on neighbouring pages of one b-tree instead of being
-- looked up row by row from the key index into the table, and each upsert touches one
-- b-tree instead of two.
CREATE TABLE request_kpis_clustered (
    district_id TEXT NOT NULL,
    scope_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    metric TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (district_id, scope_id, day, metric)
) WITHOUT ROWID;
INSERT INTO request_kpis_clustered (district_id, scope_id, day, metric, amount)
    SELECT district_id, scope_id, day, metric, amount FROM request_kpis;
DROP TABLE request_kpis;
ALTER TABLE request_kpis_clustered RENAME TO request_kpis;
