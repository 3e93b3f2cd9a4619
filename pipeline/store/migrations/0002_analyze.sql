-- Tables written by `commpulse analyze`. Every row belongs to one window
-- (window_start plus its length); re-running a window replaces its rows: the
-- analyzer deletes the window's rows (lightweight DELETE) before inserting
-- when the window was already written, and the ReplacingMergeTree engines
-- collapse a row written twice by an interrupted run. See docs/analyze.md.

-- team_stats: team aggregates per hour and per day. Team-level: rows exist
-- only for windows in which the team had at least k active members (k is
-- applied when writing; k_applied records the k in force).
CREATE TABLE IF NOT EXISTS {{db}}.team_stats
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
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (granularity, team, window_start);

-- edges: directed sender -> recipient pairs of a network window (day or
-- rolling 28 days). Person-level: TTL, erased on opt-out (store.PersonTables).
CREATE TABLE IF NOT EXISTS {{db}}.edges
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
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_days, window_start, src, dst)
TTL window_start + INTERVAL {{ttl_days}} DAY DELETE;

-- node_metrics: network.NodeMetrics per active person and window.
-- Person-level: TTL, erased on opt-out.
CREATE TABLE IF NOT EXISTS {{db}}.node_metrics
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
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_days, window_start, person)
TTL window_start + INTERVAL {{ttl_days}} DAY DELETE;

-- team_network: network.TeamMetrics per team and window, only for teams with
-- at least k active members (nodes of the team in the window).
CREATE TABLE IF NOT EXISTS {{db}}.team_network
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
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_days, team, window_start);

-- graph_metrics: window-level figures of the whole graph (no person, no team).
CREATE TABLE IF NOT EXISTS {{db}}.graph_metrics
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
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (window_days, window_start);

-- anomalies: one row per (granularity, team, metric, window). Team-level and
-- computed only from k-safe rows; never names a person.
CREATE TABLE IF NOT EXISTS {{db}}.anomalies
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
ENGINE = ReplacingMergeTree(detected_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (granularity, team, metric, window_start);

-- analyzer_windows: which windows the analyzer has finished, so that it
-- resumes after downtime where it stopped (a window whose teams were all
-- suppressed leaves no team_stats row, so team_stats cannot tell).
CREATE TABLE IF NOT EXISTS {{db}}.analyzer_windows
(
    granularity  LowCardinality(String),
    window_start DateTime('UTC'),
    messages     UInt64,
    teams        UInt32,
    suppressed   UInt32,
    anomalies    UInt32,
    computed_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (granularity, window_start);

-- k-safe views: what dashboards read. k is applied when writing; the views
-- re-check it against the k recorded on each row (and never below 2, so a
-- row of a single person's figures is not shown whatever the config said).
CREATE VIEW IF NOT EXISTS {{db}}.team_stats_k AS
SELECT * EXCEPT computed_at FROM {{db}}.team_stats FINAL
WHERE active_members >= greatest(k_applied, 2);

CREATE VIEW IF NOT EXISTS {{db}}.team_network_k AS
SELECT * EXCEPT computed_at FROM {{db}}.team_network FINAL
WHERE members_active >= greatest(k_applied, 2);

CREATE VIEW IF NOT EXISTS {{db}}.anomalies_k AS
SELECT * FROM {{db}}.anomalies FINAL;
