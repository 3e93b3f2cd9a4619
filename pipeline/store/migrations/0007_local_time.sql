-- after_hours: whether a message was sent outside its sender's local working
-- hours, stamped by ingest when the directory (v2, effective-dated) gives the
-- sender a time zone at the message's time. NULL means no time zone: analyze
-- applies the organisation default (its working hours in UTC) to those rows.
-- A flag, not a time: the local hour itself is not stored.
ALTER TABLE {{db}}.messages ADD COLUMN IF NOT EXISTS after_hours Nullable(UInt8) AFTER scorer_version;
