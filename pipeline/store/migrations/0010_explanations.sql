-- explanation: one sentence per anomaly saying what moved, against which
-- baseline and by how much, written by the analyzer from the row's own
-- published figures (value, expected, low, high, window). It names a team,
-- never a person, and carries no number the row does not.
ALTER TABLE {{db}}.anomalies ADD COLUMN IF NOT EXISTS explanation String DEFAULT '' AFTER detector;

-- The published view re-reads the table with the new column.
CREATE OR REPLACE VIEW {{db}}.anomalies_k DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * FROM {{db}}.anomalies FINAL;
