-- Major requests' recorded steps, duty-list admission (准入, 一村一策) and per-district
-- work calendars.

-- The step a major request has reached (收集问题—提出方案—吹哨通知—召开会议—落实决议);
-- NULL for a request that is not major. Major requests taken in before this migration start
-- at the first step.
ALTER TABLE requests ADD COLUMN major_stage TEXT COLLATE "C";
UPDATE requests SET major_stage = 'not_started' WHERE severity = 'major';
-- 1 while the request's catalogue item is outside its community's duty list and nobody has
-- approved pushing it to the grids.
ALTER TABLE requests ADD COLUMN admission_pending BIGINT NOT NULL DEFAULT 0;

-- A community's admitted catalogue items (准入). No row: every item is admitted.
-- `service_codes` is a JSON array of catalogue codes.
CREATE TABLE duty_lists (
    district_id TEXT COLLATE "C" NOT NULL,
    community_id TEXT COLLATE "C" NOT NULL,
    service_codes TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (district_id, community_id)
);

-- A district's own holidays and make-up working days (调休) for one year, replacing the
-- built-in China official schedule for that year. Dates are JSON arrays of ISO dates.
CREATE TABLE work_calendar_years (
    district_id TEXT COLLATE "C" NOT NULL,
    year BIGINT NOT NULL,
    holidays TEXT COLLATE "C" NOT NULL,
    make_up_days TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (district_id, year)
);
