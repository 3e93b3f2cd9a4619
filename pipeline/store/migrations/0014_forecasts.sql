-- team_forecasts: the early-warning forecasts (issue 15, package forecast,
-- docs/forecast.md). When a day window closes, analyze fits ETS(A,Ad,A) to
-- each team's released daily series (mean_compound of team_stats day rows
-- with enough scored messages, and the belonging index of team_belonging
-- day rows) up to that day, the origin_day, and writes one row per
-- forecast day: step 1..horizon, day = origin_day + step. Post-processing
-- of published figures only (the rows team_stats_k and team_belonging_k
-- show, and the public analyze configuration), so the table adds no
-- privacy loss (docs/privacy.md). A team is forecast only when its
-- team_stats day row of the origin day is published.
--
-- metric is mean_compound or belonging; mean, lower and upper are the
-- forecast and its central prediction interval of coverage level (0.8 by
-- default); observed is how many published days the fit used; warn is
-- true on the days whose whole interval is past the metric's threshold
-- (forecast.Warn counts them). A forecast day whose weekday was published
-- too rarely to be forecast has no row. The warning itself is a row of
-- anomalies (detector 'forecast', metric forecast_<metric>), so reviews,
-- suppression and alerts treat it like any other anomaly.
CREATE TABLE IF NOT EXISTS {{db}}.team_forecasts
(
    origin_day  DateTime('UTC'),
    team        LowCardinality(String),
    metric      LowCardinality(String),
    step        UInt8,
    day         DateTime('UTC'),
    mean        Float64,
    lower       Float64,
    upper       Float64,
    level       Float64,
    observed    UInt16,
    warn        Bool,
    k_applied   UInt16,
    computed_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(origin_day)
ORDER BY (metric, team, origin_day, step)
TTL origin_day + INTERVAL {{ttl_days}} DAY DELETE;

-- The published view (store.PublishedViews): definer security like the
-- others; a team's forecasts only while its team_stats day row of the
-- origin day passes the check of team_stats_k (a forecast of a team that
-- went under k would say it still exists).
-- GLOBAL IN, as in team_belonging_k: on a cluster both tables are Distributed.
CREATE VIEW IF NOT EXISTS {{db}}.team_forecasts_k DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * EXCEPT computed_at FROM {{db}}.team_forecasts FINAL
WHERE k_applied >= 5 AND (origin_day, team) GLOBAL IN (
    SELECT window_start, team FROM {{db}}.team_stats FINAL
    WHERE granularity = 'day' AND k_applied >= 5 AND active_members >= k_applied);
