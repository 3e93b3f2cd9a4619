-- Release generations across a change of the number of analyze shards
-- (docs/scaling.md section 5, docs/privacy.md "How a figure is released").
-- shards is the analyzer's --shards when it wrote the row. It joins the
-- sorting key, so the marks of shard 0 of 2 and shard 0 of 3 for the same
-- window are two rows; a new sorting-key column takes no DEFAULT, so rows
-- written before this migration read 0, which the store reads as 1 (a
-- single analyzer, what every deployment before sharded analyze was). The
-- store counts a window's next generation over this shard's rows under the
-- current count and every row under any other count, so a team that moves
-- to another shard never releases a window again at a generation used.
ALTER TABLE {{db}}.analyzer_windows ADD COLUMN IF NOT EXISTS shards UInt16 AFTER shard, MODIFY ORDER BY (granularity, window_start, shard, shards);
-- inputs: a keyed digest (HMAC-SHA256 under the publication noise key) of
-- the exact inputs of the window's release, written with its begun mark.
-- A retry of a begun window on the same inputs reuses its generation (the
-- same figures, bit for bit, no new epsilon); changed inputs take the next
-- one. Never an unkeyed hash of exact figures: those could be confirmed by
-- guessing. Empty for rows before this migration (never equal to a digest).
ALTER TABLE {{db}}.analyzer_windows ADD COLUMN IF NOT EXISTS inputs String DEFAULT '' AFTER done;
