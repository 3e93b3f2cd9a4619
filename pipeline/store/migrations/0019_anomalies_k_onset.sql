-- anomalies_k shows a row only while its onset day is published too, by
-- the same table and check as its own window (migration 0017). A drift's
-- onset (migration 0018) is the first day of its CUSUM run, a released day
-- when the row is written; the row and its explanation ("building since
-- <onset>") say that the team was released that day and that its figure
-- was already outside the band in the drift's direction. A `--since`
-- re-run after an erasure can withdraw the onset day (the team falls below
-- k on it) and be cut short before it rewrites the alarm day's anomalies:
-- re-checking the window alone kept that statement about a withdrawn
-- team-day visible (internal/attack TestAttackDriftOnsetWithdrawn). For
-- every other detector the onset is the row's own window, so the added
-- condition is the one already there. The days between the onset and the
-- window are not checked: a run skips the days a team is not released
-- (the detector never sees them), so a gap is no sign of a withdrawal; a
-- completed re-run recomputes the run from the days it does release.
-- The cost: the TTL runs from window_start, so a drift row leaves the
-- view when its onset day's release expires, up to MaxRun (28) days
-- before its own row does; at the edge of retention, not in the weeks an
-- alert is acted on.
CREATE OR REPLACE VIEW {{db}}.anomalies_k DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * FROM {{db}}.anomalies FINAL
WHERE (metric IN ('messages', 'mean_compound', 'negative_share', 'forecast_mean_compound', 'forecast_belonging')
        AND (granularity, window_start, team) GLOBAL IN (
            SELECT granularity, window_start, team FROM {{db}}.team_stats FINAL
            WHERE k_applied >= 5 AND (active_members >= k_applied OR (granularity = 'hour' AND active_members IS NULL)))
        AND (granularity, onset, team) GLOBAL IN (
            SELECT granularity, window_start, team FROM {{db}}.team_stats FINAL
            WHERE k_applied >= 5 AND (active_members >= k_applied OR (granularity = 'hour' AND active_members IS NULL))))
    OR (metric IN ('external_share', 'isolated_members') AND granularity = 'day'
        AND (window_start, team) GLOBAL IN (
            SELECT window_start, team FROM {{db}}.team_network FINAL
            WHERE window_days = 1 AND members_active >= greatest(k_applied, 5))
        AND (onset, team) GLOBAL IN (
            SELECT window_start, team FROM {{db}}.team_network FINAL
            WHERE window_days = 1 AND members_active >= greatest(k_applied, 5)));
