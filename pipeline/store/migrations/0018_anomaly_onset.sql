-- onset: the first window of the change an anomaly is part of. For a drift
-- (detector drift) it is the day the CUSUM run began, the detector's
-- estimate of when the drift started: a decline found on its fifth day
-- says since when it has been building (the explanation says it in words).
-- For every other detector it is the anomaly's own window, which is also
-- the default of the rows written before this migration. It is a date
-- derived from the released figures the detectors read, like the rest of
-- the row (post-processing), and it carries no figure.
ALTER TABLE {{db}}.anomalies ADD COLUMN IF NOT EXISTS onset DateTime('UTC') DEFAULT window_start AFTER explanation;

-- The published view re-reads the table with the new column (SELECT * is
-- expanded when a view is created). Its definition is migration 0017's,
-- unchanged: see there for which release each metric is re-checked against.
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
