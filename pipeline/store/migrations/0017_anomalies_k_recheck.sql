-- anomalies_k re-checks k against the release an anomaly was computed
-- from, as team_themes_k, team_belonging_k and team_forecasts_k do: a row
-- is shown only while its team-window is published by the table that
-- released the figures it is about, with the check of that table's view.
-- Until now the view showed every anomalies row, so an anomaly (or an
-- early warning) could stay visible for a team-day that team_stats_k no
-- longer shows: a `--since` re-run after an erasure that drops the team
-- below k rewrites team_stats first and the window's anomalies later, and
-- a run that fails in between leaves the old anomalies standing.
--
-- Where each metric comes from (pipeline/analyze/anomalies.go,
-- isolation.go, forecast.go):
--   - messages, mean_compound, negative_share: the team_stats row of the
--     same granularity and window (hour rows publish the volume only, with
--     active_members NULL, as in team_stats_k);
--   - forecast_mean_compound, forecast_belonging (detector forecast): the
--     team_stats day row of the origin day, as in team_forecasts_k;
--   - external_share, isolated_members: the team_network day row
--     (window_days = 1) of the day.
-- A metric not listed here is not shown (fail closed): a new anomaly
-- metric needs a migration that adds it here, and an entry in the metric
-- lists of internal/attack TestAttackAnomaliesShownOnlyWithTheirRelease.
--
-- GLOBAL IN, as in team_themes_k: on a cluster the tables are Distributed.
CREATE OR REPLACE VIEW {{db}}.anomalies_k DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * FROM {{db}}.anomalies FINAL
WHERE (metric IN ('messages', 'mean_compound', 'negative_share', 'forecast_mean_compound', 'forecast_belonging')
        AND (granularity, window_start, team) GLOBAL IN (
            SELECT granularity, window_start, team FROM {{db}}.team_stats FINAL
            WHERE k_applied >= 5 AND (active_members >= k_applied OR (granularity = 'hour' AND active_members IS NULL))))
    OR (metric IN ('external_share', 'isolated_members') AND granularity = 'day'
        AND (window_start, team) GLOBAL IN (
            SELECT window_start, team FROM {{db}}.team_network FINAL
            WHERE window_days = 1 AND members_active >= greatest(k_applied, 5)));

-- anomaly_reviews_k shows a review only while anomalies_k shows its
-- anomaly: a review's key (team, metric, window) says that the team had an
-- anomaly there, so it must not outlive the anomaly's release either. A
-- review of an anomaly a re-run no longer finds is hidden too; the report
-- joined reviews to anomalies_k already. Columns as in migration 0011.
CREATE OR REPLACE VIEW {{db}}.anomaly_reviews_k DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT window_start, granularity, team, metric, state, reason, toDate(reviewed_at, 'UTC') AS reviewed_on
FROM {{db}}.anomaly_reviews FINAL
WHERE (granularity, team, metric, window_start) GLOBAL IN (
    SELECT granularity, team, metric, window_start FROM {{db}}.anomalies_k);
