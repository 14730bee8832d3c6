-- The request KPI rollup by China calendar month (its start in UTC milliseconds) for every
-- rolled-up node, so a period of many months reads each whole month as one stretch instead
-- of one per day (mulin_storage::kpi::plan). Written in the same transaction as every
-- request write, like request_kpis, and stored in its key's order like it (0013).
CREATE TABLE request_kpis_monthly (
    district_id TEXT NOT NULL,
    scope_id TEXT NOT NULL,
    month INTEGER NOT NULL,
    metric TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (district_id, scope_id, month, metric)
) WITHOUT ROWID;
-- Requests stored before this table have no months yet: the store rebuilds every
-- district's rollup when it next opens (0015 may have left the same mark already).
INSERT INTO meta (key, value)
    SELECT 'request_kpis_rebuild_pending', '1'
    WHERE EXISTS (SELECT 1 FROM requests)
      AND NOT EXISTS (SELECT 1 FROM meta WHERE key = 'request_kpis_rebuild_pending');
