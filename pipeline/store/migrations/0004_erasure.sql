-- Erasure that leaves no id in statement text and survives a crash half-way.
-- batch ties the erasures rows of one ErasePersons call to the mutations that
-- delete by it (ALTER TABLE ... DELETE WHERE sender IN (SELECT person FROM
-- erasures WHERE batch = '<random hex>')), so system.mutations and the query
-- log hold the batch, never a person id. done is false on the row written
-- before the deletes and true on the row written after them: the latest row
-- of a person (ReplacingMergeTree(erased_at)) says whether their erasure
-- finished. Rows written before this migration were written after their
-- deletes, hence the default true.
ALTER TABLE {{db}}.erasures ADD COLUMN IF NOT EXISTS batch String DEFAULT '';
ALTER TABLE {{db}}.erasures ADD COLUMN IF NOT EXISTS done Bool DEFAULT true;
