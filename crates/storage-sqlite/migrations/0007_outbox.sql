-- Notifications beyond the app: per-district webhook subscriptions, the hotline's result
-- callbacks, and the outbox a background dispatcher delivers from. Outbox rows are written
-- in the same transaction as the request change they report, so a change is never lost nor
-- delivered without having happened; the dispatcher never holds that transaction up.

-- A receiver of every notification of its district. The secret signs each delivery
-- (HMAC-SHA256), so it is kept as given: it is shown once, when the subscription is added.
CREATE TABLE webhook_subscriptions (
    district_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (district_id, id)
);
CREATE UNIQUE INDEX webhook_subscriptions_by_name ON webhook_subscriptions (district_id, name);

-- Where a hotline work order's results go (the secret, when the hotline gave one, signs them).
CREATE TABLE hotline_callbacks (
    district_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT,
    PRIMARY KEY (district_id, request_id)
);

-- One message to one receiver. The id is derived from what it reports
-- ("<subscription id>:<notification id>", "hotline:<request id>:<seq>"), so writing it twice
-- is a conflict, not a second delivery.
CREATE TABLE outbox (
    district_id TEXT NOT NULL,
    id TEXT NOT NULL,
    subscription_id TEXT,
    url TEXT NOT NULL,
    request_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    user_id TEXT,
    external_ref TEXT,
    at INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    delivered_at INTEGER,
    PRIMARY KEY (district_id, id)
);
-- The dispatcher polls pending rows whose next attempt is due, across districts.
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
