package analyze

import (
	"context"
	"time"

	"commpulse/network"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

// Store is what the analyzer reads and writes in ClickHouse. *store.Store
// implements it; the SQL lives there, with the row types, so this package
// holds the window logic and no query. The methods are documented on
// store.Store.
type Store interface {
	// Progress.
	EarliestMessage(ctx context.Context) (time.Time, bool, error)
	LastDone(ctx context.Context, g Granularity) (time.Time, bool, error)
	Generations(ctx context.Context, g Granularity, from, to time.Time) (map[time.Time]uint32, error)
	MarkBegun(ctx context.Context, ws []store.WindowDone, now time.Time) error
	MarkDone(ctx context.Context, ws []store.WindowDone, now time.Time) error
	// Release generations across retries and changes of the number of
	// shards (generations.go).
	BegunWindows(ctx context.Context, g Granularity, from, to time.Time) (map[time.Time]store.Begun, error)
	InputFingerprint(ctx context.Context, from, to time.Time) (string, error)
	OtherShardCounts(ctx context.Context) (map[int]time.Time, error)
	ShardsLastDone(ctx context.Context, g Granularity, shards int) (map[int]time.Time, error)

	// Team figures.
	DayCells(ctx context.Context, from, to time.Time, capVolume, capSentiment, capThemes float64, workStart, workEnd int) ([]publish.DayCell, error)
	HourCells(ctx context.Context, from, to time.Time, capVolume float64) ([]publish.HourCell, error)
	StatsHistory(ctx context.Context, g Granularity, before time.Time) ([]TeamStats, error)
	WriteTeamStats(ctx context.Context, g Granularity, from, to time.Time, rows []TeamStats, k int, now time.Time) error
	WriteTeamThemes(ctx context.Context, from, to time.Time, rows []store.TeamTheme, k int, now time.Time) error

	// Networks.
	WindowInput(ctx context.Context, from, to time.Time, cfg network.Config) (network.Input, error)
	TeamWeights(ctx context.Context, from, to time.Time, cfg network.Config) ([]store.TeamWeight, error)
	NetworkHistory(ctx context.Context, before time.Time) ([]store.NetworkPoint, error)
	IsolationHistory(ctx context.Context, day time.Time, histDays int) (map[string][]store.PastDay, error)
	WriteNetwork(ctx context.Context, start time.Time, days int, res *network.Result,
		teams []publish.NetRelease, graph store.GraphRelease, k int, eps float64, now time.Time) error

	// The belonging index (belonging.go): published inputs in, rows out.
	BelongingInputs(ctx context.Context, from, to time.Time) ([]store.BelongingInput, error)
	WriteBelonging(ctx context.Context, day, week time.Time, rows []store.TeamBelonging, k int, now time.Time) error

	// Early warning (forecast.go): published series in, forecasts out.
	ForecastInputs(ctx context.Context, from, to time.Time, minScored float64) ([]store.ForecastPoint, error)
	WriteForecasts(ctx context.Context, origin time.Time, rows []store.TeamForecast, k int, now time.Time) error
	// The stored day anomalies of one detector: the early warnings and
	// drifts of earlier days, to alert a continuing one once.
	DayAnomaliesBy(ctx context.Context, detector string, from, to time.Time) ([]store.Anomaly, error)

	// Anomalies.
	StoredAnomalies(ctx context.Context, g Granularity, from, to time.Time) (map[string]bool, error)
	WriteAnomalies(ctx context.Context, g Granularity, from, to time.Time, as []Anomaly) error
	// Reviews: the dismissals that suppress repeat alerts (review.go).
	StandingDismissals(ctx context.Context, from, to time.Time) ([]store.Review, error)

	// Sharded analyze (shard.go): the shard the store is scoped to, the
	// stage marks of a day window, and the day's network and team rows as
	// the other shards wrote them.
	AnalyzeShard() store.AnalyzeShard
	MarkStage(ctx context.Context, stage string, day time.Time, now time.Time) error
	StageShards(ctx context.Context, stage string, day time.Time) (map[int]bool, error)
	DayNetwork(ctx context.Context, day time.Time) ([]publish.NetRelease, []store.IsolatedNode, error)
	DayStats(ctx context.Context, day time.Time) ([]TeamStats, error)

	// Erasure while a window is in flight (erasure.go).
	InFlightErased(ctx context.Context, since time.Time) (map[string]bool, error)
	EraseInFlight(ctx context.Context, since, windowStart time.Time, days int) (map[string]uint64, error)
}

var _ Store = (*store.Store)(nil)

// The row types the analyzer shares with its store.
type (
	// Granularity is the length of a team_stats window (store.Granularity).
	Granularity = store.Granularity
	// TeamStats is one published team_stats row (store.TeamStats).
	TeamStats = store.TeamStats
	// Anomaly is one row of the anomalies table and one alert (store.Anomaly).
	Anomaly = store.Anomaly
	// Severity of an anomaly (store.Severity).
	Severity = store.Severity
)

// The two granularities.
const (
	Hour = store.Hour
	Day  = store.Day
)

// Severities, from the score in [0, 1] (SeverityOf).
const (
	Info     = store.Info
	Warning  = store.Warning
	Critical = store.Critical
)
