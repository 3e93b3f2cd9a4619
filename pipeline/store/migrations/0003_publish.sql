-- Published team figures (package pipeline/publish). Every team-level table
-- now holds only released figures: at least k distinct senders, per-person
-- contribution bounds and discrete Laplace noise (docs/privacy.md). The
-- tables of migration 0002 held exact aggregates, which the differencing
-- attacks of docs/privacy.md read; they are dropped, not converted: they
-- are derived data, and `analyze` recomputes them from `messages` on its
-- next start (analyzer_windows is emptied too, so it begins at the
-- earliest message). Every table derived from person data carries the TTL
-- of person-level rows.
DROP VIEW IF EXISTS {{db}}.team_stats_k;
DROP VIEW IF EXISTS {{db}}.team_network_k;
DROP VIEW IF EXISTS {{db}}.anomalies_k;
DROP TABLE IF EXISTS {{db}}.team_stats;
DROP TABLE IF EXISTS {{db}}.team_network;
DROP TABLE IF EXISTS {{db}}.graph_metrics;
DROP TABLE IF EXISTS {{db}}.anomalies;
DROP TABLE IF EXISTS {{db}}.analyzer_windows;

-- team_stats: released team figures per day, and per hour the message
-- volume only (hourly sentiment, senders and after-hours are NULL: not
-- published). Counts are noisy and real-valued; shares and the mean are
-- ratios of noisy parts. epsilon is the privacy loss of the window's
-- releases so far (one release's loss times the generations).
CREATE TABLE IF NOT EXISTS {{db}}.team_stats
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
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (granularity, team, window_start)
TTL window_start + INTERVAL {{ttl_days}} DAY DELETE;

-- team_network: released network figures of a team (day windows, and the
-- rolling window released weekly). members_active counts senders; weight
-- is the noisy outgoing weight the shares are taken of; isolated_members
-- is NULL below the smallest published count of people.
CREATE TABLE IF NOT EXISTS {{db}}.team_network
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
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_days, team, window_start)
TTL window_start + INTERVAL {{ttl_days}} DAY DELETE;

-- graph_metrics: organisation-wide figures of a network window. nodes is
-- the noisy count of the window's senders; the structural indices are
-- published only when it is at least 50 (NULL below).
CREATE TABLE IF NOT EXISTS {{db}}.graph_metrics
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
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (window_days, window_start)
TTL window_start + INTERVAL {{ttl_days}} DAY DELETE;

-- anomalies: one row per (granularity, team, metric, window), computed only
-- from released figures (post-processing: no further privacy loss).
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
ORDER BY (granularity, team, metric, window_start)
TTL window_start + INTERVAL {{ttl_days}} DAY DELETE;

-- analyzer_windows: progress only (which windows are done, and how many
-- times each was released: generation 0 is the first release, every
-- re-run of a done window is the next generation and draws fresh noise).
-- It holds no message totals: an organisation total minus the published
-- teams would be the suppressed teams' volume.
CREATE TABLE IF NOT EXISTS {{db}}.analyzer_windows
(
    granularity  LowCardinality(String),
    window_start DateTime('UTC'),
    generation   UInt32,
    teams        UInt32,
    suppressed   UInt32,
    anomalies    UInt32,
    computed_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (granularity, window_start)
TTL window_start + INTERVAL {{ttl_days}} DAY DELETE;

-- The published views: the only objects the analyst role reads
-- (store.PublishedViews). They run with the definer's rights, so a reader
-- needs no grant on the tables beneath, and re-check k (never below 5).
CREATE VIEW IF NOT EXISTS {{db}}.team_stats_k DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * EXCEPT computed_at FROM {{db}}.team_stats FINAL
WHERE k_applied >= 5 AND (active_members >= k_applied OR (granularity = 'hour' AND active_members IS NULL));

CREATE VIEW IF NOT EXISTS {{db}}.team_network_k DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * EXCEPT computed_at FROM {{db}}.team_network FINAL
WHERE members_active >= greatest(k_applied, 5);

CREATE VIEW IF NOT EXISTS {{db}}.anomalies_k DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * FROM {{db}}.anomalies FINAL;

CREATE VIEW IF NOT EXISTS {{db}}.graph_metrics_k DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * EXCEPT computed_at FROM {{db}}.graph_metrics FINAL;
