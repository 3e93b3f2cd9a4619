-- anomaly_reviews: what reviewers said about an anomaly (package
-- pipeline/review, docs/analyze.md#review). One row per review action; the
-- ReplacingMergeTree keeps the latest (reviewed_at) per anomaly, so
-- `FINAL` reads each anomaly's current state. An anomaly without a row is
-- `new`. The key columns are the anomaly's (anomalies' ORDER BY), so a
-- review names a team, a metric and a window, never a person.
--
-- Nothing here is free text: state and reason are enums, and reviewer is
-- a pseudonym of the API token used (tok_ + 12 hex digits of its SHA-256)
-- or the label `cli`; the constraints refuse anything else, so a name or a
-- note cannot be stored even by a client that bypasses the API.
-- docs/privacy.md#reviews says why.
CREATE TABLE IF NOT EXISTS {{db}}.anomaly_reviews
(
    window_start DateTime('UTC'),
    granularity  LowCardinality(String),
    team         LowCardinality(String),
    metric       LowCardinality(String),
    state        Enum8('acknowledged' = 1, 'confirmed' = 2, 'dismissed' = 3),
    reason       Enum8('' = 0, 'false_positive' = 1, 'expected' = 2, 'duplicate' = 3, 'other' = 4),
    reviewer     LowCardinality(String),
    reviewed_at  DateTime64(3, 'UTC'),
    CONSTRAINT reason_iff_dismissed CHECK (state = 'dismissed') = (reason != ''),
    CONSTRAINT reviewer_pseudonymous CHECK match(reviewer, '^(cli|tok_[0-9a-f]{12})$')
)
ENGINE = ReplacingMergeTree(reviewed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (granularity, team, metric, window_start)
TTL window_start + INTERVAL {{ttl_days}} DAY DELETE;

-- The published view of the reviews (store.PublishedViews): the current
-- state and reason of each reviewed anomaly and the day of the review.
-- Neither the reviewer's pseudonym nor the time of day is shown: with one
-- token per reviewer the two together would describe when a reviewer
-- works.
CREATE VIEW IF NOT EXISTS {{db}}.anomaly_reviews_k DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT window_start, granularity, team, metric, state, reason, toDate(reviewed_at, 'UTC') AS reviewed_on
FROM {{db}}.anomaly_reviews FINAL;
