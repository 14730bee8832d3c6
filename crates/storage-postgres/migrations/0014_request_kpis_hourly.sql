-- The request KPI rollup by China-time hour (its start in UTC milliseconds) for the nodes
-- rolled up by the hour (mulin_storage::kpi::HOURLY_KINDS: district, street, community), so
-- a period whose bounds fall mid-day reads whole hours here and only part of an hour request
-- by request. Written in the same transaction as every request write, like request_kpis,
-- with a tenth of each page free for in-place (HOT) updates of the hot counters like it (0013).
CREATE TABLE request_kpis_hourly (
    district_id TEXT COLLATE "C" NOT NULL,
    scope_id TEXT COLLATE "C" NOT NULL,
    hour BIGINT NOT NULL,
    metric TEXT COLLATE "C" NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (district_id, scope_id, hour, metric)
) WITH (fillfactor = 90);
-- Requests stored before this table have no hours yet: the store rebuilds every district's
-- rollup when it next opens, then removes this mark.
INSERT INTO meta (key, value)
    SELECT 'request_kpis_hourly_pending', '1' WHERE EXISTS (SELECT 1 FROM requests);
