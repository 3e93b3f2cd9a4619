// Package analyze is the batch/streaming analyzer behind `commpulse
// analyze`: it turns the deduplicated messages table into team aggregates
// (team_stats), network tables (edges, node_metrics, team_network,
// graph_metrics) and anomalies (the anomalies table, the alerts topic and a
// Prometheus counter), one closed window at a time.
//
// # Windows
//
// Windows are aligned UTC hours and days. A window [start, end) is closed
// once the clock passes end + lateness (Config.LatenessHour, LatenessDay):
// events that arrive later than that are stored but not reflected until the
// window is re-run (Config.Since). Each run of Step processes, in order, every
// closed window after the last one recorded in analyzer_windows (or from
// Config.Since, or from the earliest message), so a restarted analyzer catches
// up on the windows it missed. Hour windows produce team_stats; day windows
// produce team_stats, the day network, the rolling network of the last
// Config.RollingDays days ending with that day, and the network anomalies.
//
// # Idempotence
//
// Every table row belongs to one window. Re-running a window (an explicit
// --since, or a crash after the rows but before the progress mark) first
// deletes the window's rows with a lightweight DELETE when any exist, then
// inserts; the ReplacingMergeTree engines additionally collapse rows written
// twice by an interrupted insert. Deleting first matters for person-level
// tables and for k: a person erased, or a team that fell below k, since the
// last run must not keep a stale row.
//
// # Detectors
//
// One anomaly.Detector per (granularity, team, metric) series, fed the
// k-safe rows in window order. Detectors hold no state that ClickHouse does
// not: at start (and when re-running from an earlier window) they are rebuilt
// by replaying team_stats and team_network history before the first window
// to process (anomaly.Replay semantics), so a restarted analyzer scores the
// next window exactly as one that never stopped. Daily series (negative
// share, mean compound, external share, messages) also feed an
// anomaly.Drift, a capped one-sided CUSUM against a frozen pooled baseline
// with days weighed by their messages, plus a Shewhart limit for one-day
// jumps: it finds sustained drifts the same-weekday baseline follows (a
// slow decline), and silos and volume spikes on their first day, which the
// level detector's four-value baselines can miss; it is rebuilt by the
// same replay. Person isolation is
// a rule over the day network just computed and the node_metrics of the
// HistoryDays before it (Isolation), read from ClickHouse each day.
//
// # Alerts
//
// An anomaly is alerted once per (granularity, team, metric, window): before
// publishing, the analyzer reads which anomalies of the window are already
// stored and publishes only the new ones, then stores them. The record key is
// the same tuple, so a compacted alerts topic or a consumer can also drop the
// rare duplicate of a crash between publishing and storing (at-least-once).
// Alerts name teams, never persons.
//
// # Shards
//
// With Config.Shards > 1 (`--shards N --shard I`) each analyzer owns the
// teams of store.TeamShard == I: their team rows, detectors, anomalies
// and alerts; shard 0 also computes the organisation's network of every
// day window, exactly once. Progress is per shard. shard.go has the rules
// and docs/scaling.md section 5 the operations.
package analyze
