-- team_belonging: the team belonging index (issue 15), per team-day
-- (window_days = 1) and per Monday-Sunday week (window_days = 7, written
-- when the Sunday closes; window_start is the Monday). Post-processing of
-- published figures only: analyze computes every value from the team's
-- released team_stats day rows and team_network day rows (the ones the
-- views team_stats_k and team_network_k show) and the public analyze
-- configuration, so the table adds no privacy loss (docs/privacy.md). A
-- team-day has a row only when its team_stats day row is published.
--
-- belonging is the index on 0..100 (50 + 10 x belonging_z, clamped);
-- belonging_z is the weighted mean of the component scores, in standard
-- deviations from usual (higher: more belonging); sentiment_z, inclusion_z
-- and load_z are the components (NULL: not enough published data).
-- drivers holds, per published figure the components are built from
-- (mean_compound, negative_share, ei_index, isolated_share,
-- after_hours_share), its value, the team's usual value and its scores
-- against the team's own baseline and against the organisation
-- (keys <figure>, <figure>.usual, <figure>.team_z, <figure>.org_z).
-- explanation says in words which components moved and by how much, from
-- the row's own numbers. days is how many daily rows a week averages (1
-- for a day), baseline_days the length of the team's own baseline, and
-- active_members the published senders of the team-day (of a week: the
-- fewest of its days).
CREATE TABLE IF NOT EXISTS {{db}}.team_belonging
(
    window_start   DateTime('UTC'),
    window_days    UInt16,
    team           LowCardinality(String),
    belonging      Float64,
    belonging_z    Float64,
    sentiment_z    Nullable(Float64),
    inclusion_z    Nullable(Float64),
    load_z         Nullable(Float64),
    drivers        Map(LowCardinality(String), Float64),
    days           UInt8,
    baseline_days  UInt16,
    active_members UInt32,
    explanation    String,
    k_applied      UInt16,
    computed_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_days, team, window_start)
TTL window_start + INTERVAL {{ttl_days}} DAY DELETE;

-- The published view (store.PublishedViews): definer security like the
-- others; k re-checked on the row, and on the team_stats day rows its
-- inputs came from: a day row only for a team-day whose team_stats row
-- passes the check of team_stats_k, a week row only for a team with such a
-- row in that week.
-- GLOBAL IN, as in team_themes_k: on a cluster both tables are Distributed.
CREATE VIEW IF NOT EXISTS {{db}}.team_belonging_k DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * EXCEPT computed_at FROM {{db}}.team_belonging FINAL
WHERE k_applied >= 5 AND active_members >= k_applied AND (
    (window_days = 1 AND (window_start, team) GLOBAL IN (
        SELECT window_start, team FROM {{db}}.team_stats FINAL
        WHERE granularity = 'day' AND k_applied >= 5 AND active_members >= k_applied))
    OR (window_days = 7 AND (window_start, team) GLOBAL IN (
        SELECT toDateTime(toMonday(window_start, 'UTC'), 'UTC'), team FROM {{db}}.team_stats FINAL
        WHERE granularity = 'day' AND k_applied >= 5 AND active_members >= k_applied)));
