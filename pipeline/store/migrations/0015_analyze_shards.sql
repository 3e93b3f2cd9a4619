-- Sharded analyze (issue 16, docs/scaling.md section 5): every analyze
-- shard records its own progress. shard is the analyzer's --shard (0 for a
-- single analyzer; a new column of a sorting key takes no DEFAULT, and
-- rows written before this migration read 0, the type default: shard 0),
-- and it joins the sorting key: without it the ReplacingMergeTree would
-- collapse the marks of two shards for the same window into one. Besides
-- 'hour' and 'day', granularity then also holds the stage marks of a
-- sharded day window ('day_stats': a shard's team rows of the day are
-- written; 'day_network': shard 0 wrote the day's organisation network).
ALTER TABLE {{db}}.analyzer_windows ADD COLUMN IF NOT EXISTS shard UInt16 AFTER window_start, MODIFY ORDER BY (granularity, window_start, shard);
