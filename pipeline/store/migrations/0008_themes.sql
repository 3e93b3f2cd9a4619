-- themes: the nlp.Theme bit set of a message (workload, recognition, conflict,
-- blockers, change; nlp/lexicon/themes.txt gives the bit order). Only the bits
-- are stored, never the words that matched; analyze publishes team-level
-- counts of them under the publication rule.
ALTER TABLE {{db}}.messages ADD COLUMN IF NOT EXISTS themes UInt16 DEFAULT 0 AFTER after_hours;
