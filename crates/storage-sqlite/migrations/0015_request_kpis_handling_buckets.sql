-- The handling-time histogram of the KPI rollup (metric 'handling:N') now has buckets that
-- widen with the time (mulin_storage::kpi::handling_bucket) instead of one per minute up to
-- a day. Counters written with the old buckets cannot be taken back under the new ones, so
-- the store rebuilds every district's rollup from its requests when it next opens, then
-- removes this mark.
INSERT INTO meta (key, value)
    SELECT 'request_kpis_rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM requests);
