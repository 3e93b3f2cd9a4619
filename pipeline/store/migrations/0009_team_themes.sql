-- team_themes: released theme counts of a team-day (issue 15, drivers without
-- text): for each theme of nlp.ThemeNames (workload, recognition, conflict,
-- blockers, change) the noisy, contribution-bounded number of the team's
-- messages about it (each sender weighted like team_stats.messages). Only
-- teams with a team_stats day row (at least k senders) have rows, and a
-- theme only when its noisy count reached the smallest published count
-- (--privacy-min-theme-messages). theme holds a theme name, never a word of
-- a message. epsilon is the loss of the team-day's theme releases so far
-- (every theme, published or not, times the generations).
CREATE TABLE IF NOT EXISTS {{db}}.team_themes
(
    window_start DateTime('UTC'),
    team         LowCardinality(String),
    theme        LowCardinality(String),
    messages     Float64,
    k_applied    UInt16,
    epsilon      Float64,
    computed_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (team, theme, window_start)
TTL window_start + INTERVAL {{ttl_days}} DAY DELETE;

-- The published view (store.PublishedViews): definer security like the
-- others, k re-checked on the row and on the team-day's team_stats row, so
-- a theme of a team-day without a k-safe team_stats row is never shown.
-- GLOBAL IN: on a cluster both tables are Distributed, and a plain IN over
-- two of them is refused (distributed_product_mode = deny); on one server
-- it is the same as IN.
CREATE VIEW IF NOT EXISTS {{db}}.team_themes_k DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * EXCEPT computed_at FROM {{db}}.team_themes FINAL
WHERE k_applied >= 5 AND (window_start, team) GLOBAL IN (
    SELECT window_start, team FROM {{db}}.team_stats FINAL
    WHERE granularity = 'day' AND k_applied >= 5 AND active_members >= k_applied);
