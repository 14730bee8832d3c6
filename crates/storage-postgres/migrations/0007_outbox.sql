-- Notifications beyond the app: per-district webhook subscriptions, the hotline's result
-- callbacks, and the outbox a background dispatcher delivers from. Outbox rows are written
-- in the same transaction as the request change they report, so a change is never lost nor
-- delivered without having happened; the dispatcher never holds that transaction up.

-- A receiver of every notification of its district. The secret signs each delivery
-- (HMAC-SHA256), so it is kept as given: it is shown once, when the subscription is added.
CREATE TABLE webhook_subscriptions (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    url TEXT COLLATE "C" NOT NULL,
    secret TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (district_id, id)
);
CREATE UNIQUE INDEX webhook_subscriptions_by_name ON webhook_subscriptions (district_id, name);

-- Where a hotline work order's results go (the secret, when the hotline gave one, signs them).
CREATE TABLE hotline_callbacks (
    district_id TEXT COLLATE "C" NOT NULL,
    request_id TEXT COLLATE "C" NOT NULL,
    url TEXT COLLATE "C" NOT NULL,
    secret TEXT COLLATE "C",
    PRIMARY KEY (district_id, request_id)
);

-- One message to one receiver. The id is derived from what it reports
-- ("<subscription id>:<notification id>", "hotline:<request id>:<seq>"), so writing it twice
-- is a conflict, not a second delivery.
CREATE TABLE outbox (
    district_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    subscription_id TEXT COLLATE "C",
    url TEXT COLLATE "C" NOT NULL,
    request_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C",
    external_ref TEXT COLLATE "C",
    at BIGINT NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT COLLATE "C",
    delivered_at BIGINT,
    PRIMARY KEY (district_id, id)
);
-- The dispatcher polls pending rows whose next attempt is due, across districts.
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
