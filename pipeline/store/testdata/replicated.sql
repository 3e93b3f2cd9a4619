CREATE DATABASE IF NOT EXISTS commpulse ON CLUSTER prod;
CREATE TABLE IF NOT EXISTS commpulse.schema_migrations ON CLUSTER prod
(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/schema_migrations', '{replica}')
ORDER BY version;

-- 0001_messages.sql
CREATE TABLE IF NOT EXISTS commpulse.messages_local ON CLUSTER prod
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/messages_local', '{replica}', ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (toStartOfHour(occurred_at), event_id)
TTL toDateTime(occurred_at) + INTERVAL 180 DAY DELETE;
CREATE TABLE IF NOT EXISTS commpulse.messages ON CLUSTER prod AS commpulse.messages_local
ENGINE = Distributed(prod, commpulse, messages_local, cityHash64(event_id));
CREATE TABLE IF NOT EXISTS commpulse.erasures ON CLUSTER prod
(
    person    String,
    erased_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/erasures', '{replica}', erased_at)
ORDER BY person;

-- 0002_analyze.sql
CREATE TABLE IF NOT EXISTS commpulse.team_stats_local ON CLUSTER prod
(
    window_start      DateTime('UTC'),
    granularity       LowCardinality(String),
    team              LowCardinality(String),
    messages          UInt64,
    active_members    UInt32,
    scored_messages   UInt64,
    mean_compound     Nullable(Float64),
    median_compound   Nullable(Float64),
    negative_share    Nullable(Float64),
    positive_share    Nullable(Float64),
    after_hours_share Float64,
    k_applied         UInt16,
    computed_at       DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/team_stats_local', '{replica}', computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (granularity, team, window_start);
CREATE TABLE IF NOT EXISTS commpulse.team_stats ON CLUSTER prod AS commpulse.team_stats_local
ENGINE = Distributed(prod, commpulse, team_stats_local, cityHash64(team));
CREATE TABLE IF NOT EXISTS commpulse.edges_local ON CLUSTER prod
(
    window_start DateTime('UTC'),
    window_days  UInt16,
    src          String,
    dst          String,
    src_team     LowCardinality(String),
    dst_team     LowCardinality(String),
    weight       Float64,
    interactions UInt32,
    computed_at  DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/edges_local', '{replica}', computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_days, window_start, src, dst)
TTL window_start + INTERVAL 180 DAY DELETE;
CREATE TABLE IF NOT EXISTS commpulse.edges ON CLUSTER prod AS commpulse.edges_local
ENGINE = Distributed(prod, commpulse, edges_local, cityHash64(src));
CREATE TABLE IF NOT EXISTS commpulse.node_metrics_local ON CLUSTER prod
(
    window_start          DateTime('UTC'),
    window_days           UInt16,
    person                String,
    team                  LowCardinality(String),
    in_degree             UInt32,
    out_degree            UInt32,
    in_strength           Float64,
    out_strength          Float64,
    reciprocity           Float64,
    internal_network_size UInt32,
    cross_team_breadth    UInt32,
    pagerank              Float64,
    betweenness           Float64,
    community             Int32,
    isolated              Bool,
    computed_at           DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/node_metrics_local', '{replica}', computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_days, window_start, person)
TTL window_start + INTERVAL 180 DAY DELETE;
CREATE TABLE IF NOT EXISTS commpulse.node_metrics ON CLUSTER prod AS commpulse.node_metrics_local
ENGINE = Distributed(prod, commpulse, node_metrics_local, cityHash64(person));
CREATE TABLE IF NOT EXISTS commpulse.team_network_local ON CLUSTER prod
(
    window_start     DateTime('UTC'),
    window_days      UInt16,
    team             LowCardinality(String),
    members_active   UInt32,
    internal_ties    UInt32,
    external_ties    UInt32,
    density          Float64,
    ei_index         Float64,
    isolated_members UInt32,
    external_share   Float64,
    communities      UInt32,
    best_community   Int32,
    best_jaccard     Float64,
    k_applied        UInt16,
    computed_at      DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/team_network_local', '{replica}', computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_days, team, window_start);
CREATE TABLE IF NOT EXISTS commpulse.team_network ON CLUSTER prod AS commpulse.team_network_local
ENGINE = Distributed(prod, commpulse, team_network_local, cityHash64(team));
CREATE TABLE IF NOT EXISTS commpulse.graph_metrics_local ON CLUSTER prod
(
    window_start            DateTime('UTC'),
    window_days             UInt16,
    nodes                   UInt32,
    edges                   UInt32,
    ties                    UInt32,
    communities             UInt32,
    modularity              Float64,
    formal_modularity       Float64,
    team_community_nmi      Float64,
    mean_best_jaccard       Float64,
    betweenness_exact       Bool,
    betweenness_error_bound Float64,
    computed_at             DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/graph_metrics_local', '{replica}', computed_at)
ORDER BY (window_days, window_start);
CREATE TABLE IF NOT EXISTS commpulse.graph_metrics ON CLUSTER prod AS commpulse.graph_metrics_local
ENGINE = Distributed(prod, commpulse, graph_metrics_local, cityHash64(window_days, window_start));
CREATE TABLE IF NOT EXISTS commpulse.anomalies_local ON CLUSTER prod
(
    window_start DateTime('UTC'),
    granularity  LowCardinality(String),
    team         LowCardinality(String),
    metric       LowCardinality(String),
    value        Float64,
    expected     Float64,
    low          Float64,
    high         Float64,
    score        Float64,
    severity     LowCardinality(String),
    direction    LowCardinality(String),
    detector     LowCardinality(String),
    detected_at  DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/anomalies_local', '{replica}', detected_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (granularity, team, metric, window_start);
CREATE TABLE IF NOT EXISTS commpulse.anomalies ON CLUSTER prod AS commpulse.anomalies_local
ENGINE = Distributed(prod, commpulse, anomalies_local, cityHash64(team));
CREATE TABLE IF NOT EXISTS commpulse.analyzer_windows_local ON CLUSTER prod
(
    granularity  LowCardinality(String),
    window_start DateTime('UTC'),
    messages     UInt64,
    teams        UInt32,
    suppressed   UInt32,
    anomalies    UInt32,
    computed_at  DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/analyzer_windows_local', '{replica}', computed_at)
ORDER BY (granularity, window_start);
CREATE TABLE IF NOT EXISTS commpulse.analyzer_windows ON CLUSTER prod AS commpulse.analyzer_windows_local
ENGINE = Distributed(prod, commpulse, analyzer_windows_local, cityHash64(granularity, window_start));
CREATE VIEW IF NOT EXISTS commpulse.team_stats_k ON CLUSTER prod AS
SELECT * EXCEPT computed_at FROM commpulse.team_stats FINAL
WHERE active_members >= greatest(k_applied, 2);
CREATE VIEW IF NOT EXISTS commpulse.team_network_k ON CLUSTER prod AS
SELECT * EXCEPT computed_at FROM commpulse.team_network FINAL
WHERE members_active >= greatest(k_applied, 2);
CREATE VIEW IF NOT EXISTS commpulse.anomalies_k ON CLUSTER prod AS
SELECT * FROM commpulse.anomalies FINAL;

-- 0003_publish.sql
DROP VIEW IF EXISTS commpulse.team_stats_k ON CLUSTER prod SYNC;
DROP VIEW IF EXISTS commpulse.team_network_k ON CLUSTER prod SYNC;
DROP VIEW IF EXISTS commpulse.anomalies_k ON CLUSTER prod SYNC;
DROP TABLE IF EXISTS commpulse.team_stats ON CLUSTER prod SYNC;
DROP TABLE IF EXISTS commpulse.team_stats_local ON CLUSTER prod SYNC;
DROP TABLE IF EXISTS commpulse.team_network ON CLUSTER prod SYNC;
DROP TABLE IF EXISTS commpulse.team_network_local ON CLUSTER prod SYNC;
DROP TABLE IF EXISTS commpulse.graph_metrics ON CLUSTER prod SYNC;
DROP TABLE IF EXISTS commpulse.graph_metrics_local ON CLUSTER prod SYNC;
DROP TABLE IF EXISTS commpulse.anomalies ON CLUSTER prod SYNC;
DROP TABLE IF EXISTS commpulse.anomalies_local ON CLUSTER prod SYNC;
DROP TABLE IF EXISTS commpulse.analyzer_windows ON CLUSTER prod SYNC;
DROP TABLE IF EXISTS commpulse.analyzer_windows_local ON CLUSTER prod SYNC;
CREATE TABLE IF NOT EXISTS commpulse.team_stats_local ON CLUSTER prod
(
    window_start      DateTime('UTC'),
    granularity       LowCardinality(String),
    team              LowCardinality(String),
    messages          Float64,
    active_members    Nullable(UInt32),
    scored_messages   Nullable(Float64),
    mean_compound     Nullable(Float64),
    negative_share    Nullable(Float64),
    positive_share    Nullable(Float64),
    after_hours_share Nullable(Float64),
    k_applied         UInt16,
    epsilon           Float64,
    computed_at       DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/team_stats_local', '{replica}', computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (granularity, team, window_start)
TTL window_start + INTERVAL 180 DAY DELETE;
CREATE TABLE IF NOT EXISTS commpulse.team_stats ON CLUSTER prod AS commpulse.team_stats_local
ENGINE = Distributed(prod, commpulse, team_stats_local, cityHash64(team));
CREATE TABLE IF NOT EXISTS commpulse.team_network_local ON CLUSTER prod
(
    window_start     DateTime('UTC'),
    window_days      UInt16,
    team             LowCardinality(String),
    members_active   UInt32,
    weight           Float64,
    external_share   Nullable(Float64),
    ei_index         Nullable(Float64),
    isolated_members Nullable(UInt32),
    k_applied        UInt16,
    epsilon          Float64,
    computed_at      DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/team_network_local', '{replica}', computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_days, team, window_start)
TTL window_start + INTERVAL 180 DAY DELETE;
CREATE TABLE IF NOT EXISTS commpulse.team_network ON CLUSTER prod AS commpulse.team_network_local
ENGINE = Distributed(prod, commpulse, team_network_local, cityHash64(team));
CREATE TABLE IF NOT EXISTS commpulse.graph_metrics_local ON CLUSTER prod
(
    window_start       DateTime('UTC'),
    window_days        UInt16,
    nodes              Float64,
    modularity         Nullable(Float64),
    formal_modularity  Nullable(Float64),
    team_community_nmi Nullable(Float64),
    mean_best_jaccard  Nullable(Float64),
    computed_at        DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/graph_metrics_local', '{replica}', computed_at)
ORDER BY (window_days, window_start)
TTL window_start + INTERVAL 180 DAY DELETE;
CREATE TABLE IF NOT EXISTS commpulse.graph_metrics ON CLUSTER prod AS commpulse.graph_metrics_local
ENGINE = Distributed(prod, commpulse, graph_metrics_local, cityHash64(window_days, window_start));
CREATE TABLE IF NOT EXISTS commpulse.anomalies_local ON CLUSTER prod
(
    window_start DateTime('UTC'),
    granularity  LowCardinality(String),
    team         LowCardinality(String),
    metric       LowCardinality(String),
    value        Float64,
    expected     Float64,
    low          Float64,
    high         Float64,
    score        Float64,
    severity     LowCardinality(String),
    direction    LowCardinality(String),
    detector     LowCardinality(String),
    detected_at  DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/anomalies_local', '{replica}', detected_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (granularity, team, metric, window_start)
TTL window_start + INTERVAL 180 DAY DELETE;
CREATE TABLE IF NOT EXISTS commpulse.anomalies ON CLUSTER prod AS commpulse.anomalies_local
ENGINE = Distributed(prod, commpulse, anomalies_local, cityHash64(team));
CREATE TABLE IF NOT EXISTS commpulse.analyzer_windows_local ON CLUSTER prod
(
    granularity  LowCardinality(String),
    window_start DateTime('UTC'),
    generation   UInt32,
    teams        UInt32,
    suppressed   UInt32,
    anomalies    UInt32,
    computed_at  DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/analyzer_windows_local', '{replica}', computed_at)
ORDER BY (granularity, window_start)
TTL window_start + INTERVAL 180 DAY DELETE;
CREATE TABLE IF NOT EXISTS commpulse.analyzer_windows ON CLUSTER prod AS commpulse.analyzer_windows_local
ENGINE = Distributed(prod, commpulse, analyzer_windows_local, cityHash64(granularity, window_start));
CREATE VIEW IF NOT EXISTS commpulse.team_stats_k ON CLUSTER prod DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * EXCEPT computed_at FROM commpulse.team_stats FINAL
WHERE k_applied >= 5 AND (active_members >= k_applied OR (granularity = 'hour' AND active_members IS NULL));
CREATE VIEW IF NOT EXISTS commpulse.team_network_k ON CLUSTER prod DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * EXCEPT computed_at FROM commpulse.team_network FINAL
WHERE members_active >= greatest(k_applied, 5);
CREATE VIEW IF NOT EXISTS commpulse.anomalies_k ON CLUSTER prod DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * FROM commpulse.anomalies FINAL;
CREATE VIEW IF NOT EXISTS commpulse.graph_metrics_k ON CLUSTER prod DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * EXCEPT computed_at FROM commpulse.graph_metrics FINAL;

-- 0004_erasure.sql
ALTER TABLE commpulse.erasures ON CLUSTER prod ADD COLUMN IF NOT EXISTS batch String DEFAULT '';
ALTER TABLE commpulse.erasures ON CLUSTER prod ADD COLUMN IF NOT EXISTS done Bool DEFAULT true;

-- 0005_roles.sql
ALTER TABLE commpulse.team_stats_k ON CLUSTER prod MODIFY SQL SECURITY DEFINER DEFINER = CURRENT_USER;
ALTER TABLE commpulse.team_network_k ON CLUSTER prod MODIFY SQL SECURITY DEFINER DEFINER = CURRENT_USER;
ALTER TABLE commpulse.anomalies_k ON CLUSTER prod MODIFY SQL SECURITY DEFINER DEFINER = CURRENT_USER;
ALTER TABLE commpulse.graph_metrics_k ON CLUSTER prod MODIFY SQL SECURITY DEFINER DEFINER = CURRENT_USER;
ALTER TABLE commpulse.team_themes_k ON CLUSTER prod MODIFY SQL SECURITY DEFINER DEFINER = CURRENT_USER;
ALTER TABLE commpulse.anomaly_reviews_k ON CLUSTER prod MODIFY SQL SECURITY DEFINER DEFINER = CURRENT_USER;
ALTER TABLE commpulse.team_belonging_k ON CLUSTER prod MODIFY SQL SECURITY DEFINER DEFINER = CURRENT_USER;
ALTER TABLE commpulse.team_forecasts_k ON CLUSTER prod MODIFY SQL SECURITY DEFINER DEFINER = CURRENT_USER;

-- 0007_local_time.sql
ALTER TABLE commpulse.messages_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS after_hours Nullable(UInt8) AFTER scorer_version;
ALTER TABLE commpulse.messages ON CLUSTER prod ADD COLUMN IF NOT EXISTS after_hours Nullable(UInt8) AFTER scorer_version;

-- 0008_themes.sql
ALTER TABLE commpulse.messages_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS themes UInt16 DEFAULT 0 AFTER after_hours;
ALTER TABLE commpulse.messages ON CLUSTER prod ADD COLUMN IF NOT EXISTS themes UInt16 DEFAULT 0 AFTER after_hours;

-- 0009_team_themes.sql
CREATE TABLE IF NOT EXISTS commpulse.team_themes_local ON CLUSTER prod
(
    window_start DateTime('UTC'),
    team         LowCardinality(String),
    theme        LowCardinality(String),
    messages     Float64,
    k_applied    UInt16,
    epsilon      Float64,
    computed_at  DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/team_themes_local', '{replica}', computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (team, theme, window_start)
TTL window_start + INTERVAL 180 DAY DELETE;
CREATE TABLE IF NOT EXISTS commpulse.team_themes ON CLUSTER prod AS commpulse.team_themes_local
ENGINE = Distributed(prod, commpulse, team_themes_local, cityHash64(team));
CREATE VIEW IF NOT EXISTS commpulse.team_themes_k ON CLUSTER prod DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * EXCEPT computed_at FROM commpulse.team_themes FINAL
WHERE k_applied >= 5 AND (window_start, team) GLOBAL IN (
    SELECT window_start, team FROM commpulse.team_stats FINAL
    WHERE granularity = 'day' AND k_applied >= 5 AND active_members >= k_applied);

-- 0010_explanations.sql
ALTER TABLE commpulse.anomalies_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS explanation String DEFAULT '' AFTER detector;
ALTER TABLE commpulse.anomalies ON CLUSTER prod ADD COLUMN IF NOT EXISTS explanation String DEFAULT '' AFTER detector;
CREATE OR REPLACE VIEW commpulse.anomalies_k ON CLUSTER prod DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * FROM commpulse.anomalies FINAL;

-- 0011_reviews.sql
CREATE TABLE IF NOT EXISTS commpulse.anomaly_reviews_local ON CLUSTER prod
(
    window_start DateTime('UTC'),
    granularity  LowCardinality(String),
    team         LowCardinality(String),
    metric       LowCardinality(String),
    state        Enum8('acknowledged' = 1, 'confirmed' = 2, 'dismissed' = 3),
    reason       Enum8('' = 0, 'false_positive' = 1, 'expected' = 2, 'duplicate' = 3, 'other' = 4),
    reviewer     LowCardinality(String),
    reviewed_at  DateTime64(3, 'UTC'),
    CONSTRAINT reason_iff_dismissed CHECK (state = 'dismissed') = (reason != ''),
    CONSTRAINT reviewer_pseudonymous CHECK match(reviewer, '^(cli|tok_[0-9a-f]{12})$')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/anomaly_reviews_local', '{replica}', reviewed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (granularity, team, metric, window_start)
TTL window_start + INTERVAL 180 DAY DELETE;
CREATE TABLE IF NOT EXISTS commpulse.anomaly_reviews ON CLUSTER prod AS commpulse.anomaly_reviews_local
ENGINE = Distributed(prod, commpulse, anomaly_reviews_local, cityHash64(team));
CREATE VIEW IF NOT EXISTS commpulse.anomaly_reviews_k ON CLUSTER prod DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT window_start, granularity, team, metric, state, reason, toDate(reviewed_at, 'UTC') AS reviewed_on
FROM commpulse.anomaly_reviews FINAL;

-- 0012_belonging.sql
CREATE TABLE IF NOT EXISTS commpulse.team_belonging_local ON CLUSTER prod
(
    window_start   DateTime('UTC'),
    window_days    UInt16,
    team           LowCardinality(String),
    belonging      Float64,
    belonging_z    Float64,
    sentiment_z    Nullable(Float64),
    inclusion_z    Nullable(Float64),
    load_z         Nullable(Float64),
    drivers        Map(LowCardinality(String), Float64),
    days           UInt8,
    baseline_days  UInt16,
    active_members UInt32,
    explanation    String,
    k_applied      UInt16,
    computed_at    DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/team_belonging_local', '{replica}', computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_days, team, window_start)
TTL window_start + INTERVAL 180 DAY DELETE;
CREATE TABLE IF NOT EXISTS commpulse.team_belonging ON CLUSTER prod AS commpulse.team_belonging_local
ENGINE = Distributed(prod, commpulse, team_belonging_local, cityHash64(team));
CREATE VIEW IF NOT EXISTS commpulse.team_belonging_k ON CLUSTER prod DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * EXCEPT computed_at FROM commpulse.team_belonging FINAL
WHERE k_applied >= 5 AND active_members >= k_applied AND (
    (window_days = 1 AND (window_start, team) GLOBAL IN (
        SELECT window_start, team FROM commpulse.team_stats FINAL
        WHERE granularity = 'day' AND k_applied >= 5 AND active_members >= k_applied))
    OR (window_days = 7 AND (window_start, team) GLOBAL IN (
        SELECT toDateTime(toMonday(window_start, 'UTC'), 'UTC'), team FROM commpulse.team_stats FINAL
        WHERE granularity = 'day' AND k_applied >= 5 AND active_members >= k_applied)));

-- 0013_window_begun.sql
ALTER TABLE commpulse.analyzer_windows_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS done Bool DEFAULT true AFTER anomalies;
ALTER TABLE commpulse.analyzer_windows ON CLUSTER prod ADD COLUMN IF NOT EXISTS done Bool DEFAULT true AFTER anomalies;

-- 0014_forecasts.sql
CREATE TABLE IF NOT EXISTS commpulse.team_forecasts_local ON CLUSTER prod
(
    origin_day  DateTime('UTC'),
    team        LowCardinality(String),
    metric      LowCardinality(String),
    step        UInt8,
    day         DateTime('UTC'),
    mean        Float64,
    lower       Float64,
    upper       Float64,
    level       Float64,
    observed    UInt16,
    warn        Bool,
    k_applied   UInt16,
    computed_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/team_forecasts_local', '{replica}', computed_at)
PARTITION BY toYYYYMM(origin_day)
ORDER BY (metric, team, origin_day, step)
TTL origin_day + INTERVAL 180 DAY DELETE;
CREATE TABLE IF NOT EXISTS commpulse.team_forecasts ON CLUSTER prod AS commpulse.team_forecasts_local
ENGINE = Distributed(prod, commpulse, team_forecasts_local, cityHash64(team));
CREATE VIEW IF NOT EXISTS commpulse.team_forecasts_k ON CLUSTER prod DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * EXCEPT computed_at FROM commpulse.team_forecasts FINAL
WHERE k_applied >= 5 AND (origin_day, team) GLOBAL IN (
    SELECT window_start, team FROM commpulse.team_stats FINAL
    WHERE granularity = 'day' AND k_applied >= 5 AND active_members >= k_applied);

-- 0015_analyze_shards.sql
ALTER TABLE commpulse.analyzer_windows_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS shard UInt16 AFTER window_start, MODIFY ORDER BY (granularity, window_start, shard);
ALTER TABLE commpulse.analyzer_windows ON CLUSTER prod ADD COLUMN IF NOT EXISTS shard UInt16 AFTER window_start;

-- 0016_analyze_shard_count.sql
ALTER TABLE commpulse.analyzer_windows_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS shards UInt16 AFTER shard, MODIFY ORDER BY (granularity, window_start, shard, shards);
ALTER TABLE commpulse.analyzer_windows ON CLUSTER prod ADD COLUMN IF NOT EXISTS shards UInt16 AFTER shard;
ALTER TABLE commpulse.analyzer_windows_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS inputs String DEFAULT '' AFTER done;
ALTER TABLE commpulse.analyzer_windows ON CLUSTER prod ADD COLUMN IF NOT EXISTS inputs String DEFAULT '' AFTER done;

-- 0017_anomalies_k_recheck.sql
CREATE OR REPLACE VIEW commpulse.anomalies_k ON CLUSTER prod DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * FROM commpulse.anomalies FINAL
WHERE (metric IN ('messages', 'mean_compound', 'negative_share', 'forecast_mean_compound', 'forecast_belonging')
        AND (granularity, window_start, team) GLOBAL IN (
            SELECT granularity, window_start, team FROM commpulse.team_stats FINAL
            WHERE k_applied >= 5 AND (active_members >= k_applied OR (granularity = 'hour' AND active_members IS NULL))))
    OR (metric IN ('external_share', 'isolated_members') AND granularity = 'day'
        AND (window_start, team) GLOBAL IN (
            SELECT window_start, team FROM commpulse.team_network FINAL
            WHERE window_days = 1 AND members_active >= greatest(k_applied, 5)));
CREATE OR REPLACE VIEW commpulse.anomaly_reviews_k ON CLUSTER prod DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT window_start, granularity, team, metric, state, reason, toDate(reviewed_at, 'UTC') AS reviewed_on
FROM commpulse.anomaly_reviews FINAL
WHERE (granularity, team, metric, window_start) GLOBAL IN (
    SELECT granularity, team, metric, window_start FROM commpulse.anomalies_k);

-- 0018_anomaly_onset.sql
ALTER TABLE commpulse.anomalies_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS onset DateTime('UTC') DEFAULT window_start AFTER explanation;
ALTER TABLE commpulse.anomalies ON CLUSTER prod ADD COLUMN IF NOT EXISTS onset DateTime('UTC') DEFAULT window_start AFTER explanation;
CREATE OR REPLACE VIEW commpulse.anomalies_k ON CLUSTER prod DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * FROM commpulse.anomalies FINAL
WHERE (metric IN ('messages', 'mean_compound', 'negative_share', 'forecast_mean_compound', 'forecast_belonging')
        AND (granularity, window_start, team) GLOBAL IN (
            SELECT granularity, window_start, team FROM commpulse.team_stats FINAL
            WHERE k_applied >= 5 AND (active_members >= k_applied OR (granularity = 'hour' AND active_members IS NULL))))
    OR (metric IN ('external_share', 'isolated_members') AND granularity = 'day'
        AND (window_start, team) GLOBAL IN (
            SELECT window_start, team FROM commpulse.team_network FINAL
            WHERE window_days = 1 AND members_active >= greatest(k_applied, 5)));

-- 0019_anomalies_k_onset.sql
CREATE OR REPLACE VIEW commpulse.anomalies_k ON CLUSTER prod DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * FROM commpulse.anomalies FINAL
WHERE (metric IN ('messages', 'mean_compound', 'negative_share', 'forecast_mean_compound', 'forecast_belonging')
        AND (granularity, window_start, team) GLOBAL IN (
            SELECT granularity, window_start, team FROM commpulse.team_stats FINAL
            WHERE k_applied >= 5 AND (active_members >= k_applied OR (granularity = 'hour' AND active_members IS NULL)))
        AND (granularity, onset, team) GLOBAL IN (
            SELECT granularity, window_start, team FROM commpulse.team_stats FINAL
            WHERE k_applied >= 5 AND (active_members >= k_applied OR (granularity = 'hour' AND active_members IS NULL))))
    OR (metric IN ('external_share', 'isolated_members') AND granularity = 'day'
        AND (window_start, team) GLOBAL IN (
            SELECT window_start, team FROM commpulse.team_network FINAL
            WHERE window_days = 1 AND members_active >= greatest(k_applied, 5))
        AND (onset, team) GLOBAL IN (
            SELECT window_start, team FROM commpulse.team_network FINAL
            WHERE window_days = 1 AND members_active >= greatest(k_applied, 5)));
