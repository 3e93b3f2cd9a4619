package analyze

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"commpulse/anomaly"
	"commpulse/internal/defaults"
	"commpulse/network"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/review"
)

// Config configures an Analyzer. Zero fields take the defaults of Defaults;
// Validate names the first bad field.
type Config struct {
	// Privacy is the publication rule every team-level figure passes: k
	// distinct senders (at least 5), contribution bounds and noise (package
	// publish, docs/privacy.md). Zero fields take publish.DefaultPolicy's.
	Privacy publish.Policy
	// LatenessHour and LatenessDay are how long after its end a window is
	// still open for late events. Defaults 10 minutes and 1 hour.
	LatenessHour time.Duration
	LatenessDay  time.Duration
	// Since, when set, is the first window start to (re)process: windows
	// from Since on are recomputed even if already done. Zero means resume
	// after the last processed window, or start at the earliest message.
	Since time.Time
	// Now is the clock (injectable for tests and backfills). Default
	// time.Now.
	Now func() time.Time
	// Tick is how often Run looks for newly closed windows. Default 1 minute.
	Tick time.Duration
	// RetryMax caps the wait after failed passes. A failed pass drops the
	// detectors and the next one rebuilds them from ClickHouse, which reads
	// the whole history window: retried every tick through an outage, each
	// analyzer would add that load to a server that is already failing.
	// So the wait doubles per consecutive failure from Tick up to RetryMax
	// (internal/backoff, with jitter, so analyze shards that failed
	// together do not retry together), and the first pass that succeeds
	// goes back to Tick. Default 10 minutes: a stall longer than that is
	// an outage the health endpoint already reports.
	RetryMax time.Duration
	// WorkStartHour and WorkEndHour (UTC, 0..24) delimit working time for
	// the after-hours share: a message is after hours when sent outside
	// [start, end) or on a Saturday or Sunday. Defaults 9 and 18.
	WorkStartHour, WorkEndHour int
	// RollingDays is the length of the rolling network window computed on
	// every day close; a negative value disables it. Default 28.
	RollingDays int
	// HourlyDetector scores hourly series; default anomaly.SeasonalConfig().
	HourlyDetector anomaly.Config
	// DailyDetector scores daily series; default DailyDetector().
	DailyDetector anomaly.Config
	// DailyDrift watches the daily sentiment series (negative share up,
	// mean compound down) for sustained drifts; default
	// anomaly.DefaultDriftConfig(). See anomaly.Drift.
	DailyDrift anomaly.DriftConfig
	// MinScoredHour and MinScoredDay are the fewest scored messages a
	// window needs for its sentiment figures (mean compound, negative
	// share) to be scored by the detectors; the row is still written. The
	// standard error of a share of n messages is up to 0.5/sqrt(n): 0.11 at
	// 20, 0.07 at 50, against shifts of interest of 0.1-0.3. Without the
	// floor a weekend day with a dozen messages "anomalously" differs from
	// a weekday of hundreds. Defaults 20 and 50.
	MinScoredHour, MinScoredDay int
	// MinWeightDay is the least published outgoing weight (messages to
	// recipients, contribution-bounded) a team needs in a day for the level
	// detector to score its external share for silos: the share of a
	// handful of weekend messages swings from 0 to 0.4 by chance. Default 20.
	MinWeightDay float64
	// Isolation is the person-isolation rule; see IsolationRule.
	Isolation IsolationRule
	// Belonging configures the team belonging index (belonging.go): its
	// weights and baselines. Default DefaultBelonging().
	Belonging BelongingConfig
	// Forecast configures the early-warning forecasts (forecast.go): horizon,
	// history and the warning rules. Default DefaultForecast().
	Forecast ForecastConfig
	// Network tunes network.Compute; its MinGroupSize is overridden by
	// Privacy.K (network's own team rows are not published: the
	// publication layer releases team figures from its nodes). Default Seed 1.
	Network network.Config
	// HourChunk bounds how many hour windows one ClickHouse query covers
	// while catching up. Default 24.
	HourChunk int
	// ReviewSuppressDays is how long a dismissal suppresses the alerts of
	// repeats: anomalies of the dismissed one's team and metric whose window
	// overlaps this many days from its window start are stored but not
	// alerted (review.Suppression). Negative: no suppression. Default 7.
	ReviewSuppressDays int
	// Logger receives progress logs (never a person id). Default discards.
	Logger *slog.Logger

	// Shards is the number of analyze shards and Shard this analyzer's
	// index in [0, Shards) (docs/scaling.md section 5): a shard owns the
	// teams of store.TeamShard == Shard (their team_stats, themes,
	// belonging, detectors, anomalies and alerts), and shard 0 also
	// computes the organisation's network of every day window, once. The
	// Store must be scoped to the same shard (store.ForAnalyzeShard).
	// Default 1 and 0: one analyzer owning everything.
	Shards, Shard int
	// ShardPoll is how often a sharded day window looks whether the other
	// shards have reached it (shard 0's network, every shard's team rows).
	// Default 2 s.
	ShardPoll time.Duration
	// ReshardQuiet is how long the analyzer waits after the newest
	// progress row written under another number of shards before it runs
	// (ErrShardCountChanged until then): old shards still running, as in a
	// rolling update from N to M shards, write a row at least every hour
	// window, so with more than an hour no two counts release at once.
	// Default 2 h. See docs/scaling.md section 5, "Changing the number of
	// shards".
	ReshardQuiet time.Duration

	// sinceFlag is --since as given; Validate parses it into Since.
	sinceFlag string

	// betweenReadAndWrite is a test hook (SetBetweenReadAndWrite, erasure.go).
	betweenReadAndWrite func(ctx context.Context, windowStart time.Time, days int)
}

// Defaults returns the default configuration (the one place defaults live).
func Defaults() Config {
	return Config{
		Privacy:        publish.DefaultPolicy(),
		LatenessHour:   10 * time.Minute,
		LatenessDay:    time.Hour,
		Now:            time.Now,
		Tick:           time.Minute,
		RetryMax:       10 * time.Minute,
		WorkStartHour:  9,
		WorkEndHour:    18,
		RollingDays:    28,
		HourlyDetector: anomaly.SeasonalConfig(),
		DailyDetector:  DailyDetector(),
		DailyDrift:     anomaly.DefaultDriftConfig(),
		MinScoredHour:  20,
		MinScoredDay:   50,
		MinWeightDay:   20,
		Isolation:      DefaultIsolationRule(),
		Belonging:      DefaultBelonging(),
		Forecast:       DefaultForecast(),
		Network:        network.Config{Seed: 1, BroadcastMaxRecipients: network.DefaultBroadcastMaxRecipients},
		HourChunk:      24,
		Logger:         slog.New(slog.DiscardHandler),

		ReviewSuppressDays: review.DefaultSuppressDays,

		Shards:    1,
		ShardPoll: 2 * time.Second,

		ReshardQuiet: 2 * time.Hour,
	}
}

// DailyDetector is the detector configuration of daily team series:
// anomaly.DailyConfig (see there for how it differs from the NAB profile
// and why).
func DailyDetector() anomaly.Config { return anomaly.DailyConfig() }

// withDefaults fills zero fields from Defaults.
func (c Config) withDefaults() Config {
	d := Defaults()
	defaults.Fill(&c.Privacy.K, d.Privacy.K)
	defaults.Fill(&c.Privacy.CapVolume, d.Privacy.CapVolume)
	defaults.Fill(&c.Privacy.CapSentiment, d.Privacy.CapSentiment)
	defaults.Fill(&c.Privacy.CapThemes, d.Privacy.CapThemes)
	defaults.Fill(&c.Privacy.MinPeople, d.Privacy.MinPeople)
	defaults.Fill(&c.Privacy.MinThemeMessages, d.Privacy.MinThemeMessages)
	defaults.Fill(&c.Privacy.RollingReleases, d.Privacy.RollingReleases)
	defaults.Fill(&c.Privacy.Epsilon, d.Privacy.Epsilon)
	defaults.Fill(&c.LatenessHour, d.LatenessHour)
	defaults.Fill(&c.LatenessDay, d.LatenessDay)
	if c.Now == nil {
		c.Now = d.Now
	}
	defaults.Fill(&c.Tick, d.Tick)
	defaults.Fill(&c.RetryMax, d.RetryMax)
	if c.WorkStartHour == 0 && c.WorkEndHour == 0 {
		c.WorkStartHour, c.WorkEndHour = d.WorkStartHour, d.WorkEndHour
	}
	if c.HourlyDetector.Window == 0 {
		c.HourlyDetector = d.HourlyDetector
	}
	if c.DailyDetector.Window == 0 {
		c.DailyDetector = d.DailyDetector
	}
	defaults.Fill(&c.DailyDrift, d.DailyDrift)
	defaults.Fill(&c.MinScoredHour, d.MinScoredHour)
	defaults.Fill(&c.MinScoredDay, d.MinScoredDay)
	defaults.Fill(&c.MinWeightDay, d.MinWeightDay)
	defaults.Fill(&c.Isolation, d.Isolation)
	defaults.Fill(&c.Isolation.SustainedDays, d.Isolation.SustainedDays) // a rule given without its run length takes the default
	defaults.Fill(&c.Isolation.NoiseAlertsPerQuarter, d.Isolation.NoiseAlertsPerQuarter)
	c.Belonging = c.Belonging.withDefaults()
	c.Forecast = c.Forecast.withDefaults()
	defaults.Fill(&c.Network, d.Network)
	defaults.Fill(&c.RollingDays, d.RollingDays)
	defaults.Fill(&c.HourChunk, d.HourChunk)
	defaults.Fill(&c.ReviewSuppressDays, d.ReviewSuppressDays)
	defaults.Fill(&c.Logger, d.Logger)
	defaults.Fill(&c.Shards, d.Shards)
	defaults.Fill(&c.ShardPoll, d.ShardPoll)
	defaults.Fill(&c.ReshardQuiet, d.ReshardQuiet)
	c.Network.MinGroupSize = c.Privacy.K
	if c.RollingDays > 0 {
		// The rolling window is released weekly: a person-day falls into
		// ceil(days/7) releases, and each takes that share of the budget.
		c.Privacy.RollingReleases = (c.RollingDays + 6) / 7
	}
	return c
}

// RegisterFlags registers analyze's flags on fs (the publication policy's
// among them), bound to c's fields with c's values as defaults: call it on
// Defaults().
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.Privacy.RegisterFlags(fs)
	fs.DurationVar(&c.LatenessHour, "lateness-hour", c.LatenessHour, "allowed lateness of hour windows")
	fs.DurationVar(&c.LatenessDay, "lateness-day", c.LatenessDay, "allowed lateness of day windows")
	fs.StringVar(&c.sinceFlag, "since", c.sinceFlag, "re-process windows from this instant (2026-11-02 or RFC 3339); default: resume")
	fs.DurationVar(&c.Tick, "tick", c.Tick, "how often to look for newly closed windows")
	fs.DurationVar(&c.RetryMax, "retry-max", c.RetryMax, "longest wait after failed passes (the wait doubles from --tick per failure)")
	fs.IntVar(&c.WorkStartHour, "work-start-hour", c.WorkStartHour, "start of working hours, UTC, for the after-hours share")
	fs.IntVar(&c.WorkEndHour, "work-end-hour", c.WorkEndHour, "end of working hours, UTC")
	fs.IntVar(&c.RollingDays, "rolling-days", c.RollingDays, "length of the rolling network window (negative: off)")
	fs.IntVar(&c.Network.BroadcastMaxRecipients, "broadcast-max-recipients", c.Network.BroadcastMaxRecipients,
		"a message to more distinct recipients than this is a broadcast: it counts for volume but creates no ties")
	fs.IntVar(&c.ReviewSuppressDays, "review-suppress-days", c.ReviewSuppressDays,
		"a dismissed anomaly suppresses the alerts of its team and metric for this many days from its window (negative: never)")
	c.Belonging.RegisterFlags(fs)
	c.Forecast.RegisterFlags(fs)
	fs.IntVar(&c.Shards, "shards", c.Shards, "number of analyze shards (teams are split among them by team hash; shard 0 computes the organisation network)")
	fs.DurationVar(&c.ShardPoll, "shard-poll", c.ShardPoll, "how often a sharded day window looks whether the other shards have reached it")
	fs.DurationVar(&c.ReshardQuiet, "reshard-quiet", c.ReshardQuiet,
		"after a change of --shards, wait this long after the last progress of the old shard count before releasing anything (old shards must be stopped)")
	fs.Func("shard", "this analyzer's shard in [0, shards): a number, or a StatefulSet pod name whose ordinal suffix is it (commpulse-analyze-2, so that COMMPULSE_SHARD can be the pod's name); default 0",
		func(v string) error {
			n, err := ParseShard(v)
			c.Shard = n
			return err
		})
}

// ParseShard reads a shard index: "2", or a StatefulSet pod name such as
// "commpulse-analyze-2" (the number after the last '-').
func ParseShard(v string) (int, error) {
	s := v
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		s = v[i+1:]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("analyze: shard %q: want a number >= 0 or a pod name ending in -<ordinal>", v)
	}
	return n, nil
}

// parseSince sets Since from --since.
func (c *Config) parseSince() error {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, c.sinceFlag); err == nil {
			c.Since, c.sinceFlag = t.UTC(), ""
			return nil
		}
	}
	return fmt.Errorf("since %q: want 2026-11-02, 2026-11-02T10:00 or RFC 3339", c.sinceFlag)
}

// Validate fills the zero fields from Defaults, parses --since and reports
// the first invalid field.
func (c *Config) Validate() error {
	*c = c.withDefaults()
	if c.sinceFlag != "" {
		if err := c.parseSince(); err != nil {
			return err
		}
	}
	switch {
	case c.LatenessHour < 0 || c.LatenessDay < 0:
		return errors.New("analyze: lateness must be >= 0")
	case c.Tick < 0:
		return errors.New("analyze: tick must be > 0")
	case c.RetryMax < 0:
		return errors.New("analyze: retry-max must be > 0")
	case c.WorkStartHour < 0 || c.WorkStartHour >= c.WorkEndHour || c.WorkEndHour > 24:
		return fmt.Errorf("analyze: working hours %d..%d: want 0 <= start < end <= 24", c.WorkStartHour, c.WorkEndHour)
	case c.RollingDays > 366:
		return fmt.Errorf("analyze: rolling days %d: want at most 366", c.RollingDays)
	case c.Network.BroadcastMaxRecipients < 0:
		return fmt.Errorf("analyze: broadcast-max-recipients %d: must be > 0", c.Network.BroadcastMaxRecipients)
	case c.HourChunk < 1:
		return fmt.Errorf("analyze: hour chunk %d: must be >= 1", c.HourChunk)
	case c.ReviewSuppressDays > 366:
		return fmt.Errorf("analyze: review-suppress-days %d: want at most 366", c.ReviewSuppressDays)
	case c.Shards < 1 || c.Shards > 1024:
		return fmt.Errorf("analyze: shards %d: want 1..1024", c.Shards)
	case c.Shard < 0 || c.Shard >= c.Shards:
		return fmt.Errorf("analyze: shard %d: want 0 <= shard < shards (%d)", c.Shard, c.Shards)
	case c.ShardPoll < 0:
		return fmt.Errorf("analyze: shard poll %s: must be > 0", c.ShardPoll)
	case c.ReshardQuiet < 0:
		return fmt.Errorf("analyze: reshard quiet %s: must be > 0", c.ReshardQuiet)
	}
	if err := c.Privacy.Validate(); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	if err := c.HourlyDetector.Validate(); err != nil {
		return fmt.Errorf("analyze: hourly detector: %w", err)
	}
	if err := c.DailyDetector.Validate(); err != nil {
		return fmt.Errorf("analyze: daily detector: %w", err)
	}
	if err := c.DailyDrift.Validate(); err != nil {
		return fmt.Errorf("analyze: daily drift: %w", err)
	}
	if err := c.Belonging.validate(); err != nil {
		return err
	}
	if err := c.Forecast.validate(); err != nil {
		return err
	}
	return c.Isolation.validate()
}
