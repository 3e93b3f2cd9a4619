-- done: 0 marks a release begun and not finished (store.MarkBegun, written
-- before a window's first row), 1 a window processed (store.MarkDone). A
-- begun window counts as released: its retry takes the next generation, so
-- a release cut short and redone on changed data draws noise its epsilon
-- counts. Rows written before this migration are done.
ALTER TABLE {{db}}.analyzer_windows ADD COLUMN IF NOT EXISTS done Bool DEFAULT true AFTER anomalies;
