-- The request KPI rollup: per rolled-up node on a request's path (district down to compound),
-- per China-time intake day (its start in UTC milliseconds), one counter per metric (see
-- mulin_storage::kpi). Written in the same transaction as the request, so it never drifts.
CREATE TABLE request_kpis (
    district_id TEXT NOT NULL,
    scope_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    metric TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (district_id, scope_id, day, metric)
);
