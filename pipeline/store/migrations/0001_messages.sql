-- messages: one row per accepted event. Never holds message text.
-- ReplacingMergeTree collapses redeliveries (same event_id and hour) on merge;
-- every reader uses FINAL or the messages_dedup view.
CREATE TABLE IF NOT EXISTS {{db}}.messages
(
    event_id        String,
    occurred_at     DateTime64(3, 'UTC'),
    ingested_at     DateTime64(3, 'UTC'),
    channel         LowCardinality(String),
    sender          String,
    team            LowCardinality(String),
    recipients      Array(String),
    recipient_teams Array(LowCardinality(String)),
    recipient_count UInt16,
    thread_id       String,
    lang            LowCardinality(String),
    token_count     UInt32,
    status          LowCardinality(String),
    compound        Nullable(Float32),
    pos             Nullable(Float32),
    neu             Nullable(Float32),
    neg             Nullable(Float32),
    label           Nullable(Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1)),
    scorer_version  LowCardinality(String)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (toStartOfHour(occurred_at), event_id)
TTL toDateTime(occurred_at) + INTERVAL {{ttl_days}} DAY DELETE;

-- erasures: who was erased when. A person id in here is needed to re-apply an
-- opt-out after a restart (the consent topic is the source of truth).
CREATE TABLE IF NOT EXISTS {{db}}.erasures
(
    person    String,
    erased_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(erased_at)
ORDER BY person;
