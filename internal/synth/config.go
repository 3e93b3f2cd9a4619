// Package synth generates a synthetic, reproducible organisation and its
// communication events for tests, benchmarks and demos of commpulse.
//
// The generator is pure: it does no I/O of its own (Produce writes through a
// Writer the caller passes in) and the same Config always yields byte-identical
// output. Randomness comes from PCG streams derived from Config.Seed: one for
// the organisation's structure and one per generated hour, so the events of
// an hour do not depend on how many events were drawn before it.
//
// Besides ordinary traffic the generator can plant scenarios (a sentiment
// drop, a volume spike, a silo, an isolated person, ...) and report them as
// ground truth (Truth), so the analysis stages can be scored for precision
// and recall.
package synth

import (
	"errors"
	"fmt"
	"time"
)

// DefaultStart is a fixed Monday, so that runs with default settings are
// reproducible and start at the beginning of a working week.
var DefaultStart = time.Date(2026, time.November, 2, 0, 0, 0, 0, time.UTC)

// Config describes the organisation and its traffic. The zero value of every
// field means "use the default" (see Defaults), except the rates, where the
// defaults are documented per field.
type Config struct {
	// Seed makes the run reproducible. Two runs with the same Config produce
	// byte-identical output.
	Seed int64

	// Teams is the number of teams, named team-1 ... team-N. Default 8.
	Teams int
	// TeamSizeMin and TeamSizeMax bound the size of each team (inclusive).
	// Default 6..14. The first member of a team is its manager.
	TeamSizeMin, TeamSizeMax int

	// Start is the first instant generated (truncated to the hour). Default
	// DefaultStart, Monday 2026-11-02T00:00:00Z.
	Start time.Time
	// Days is the length of the generated period. Default 28.
	Days int
	// Limit stops the event stream after this many events (all kinds
	// counted). 0 means all events of the Days.
	Limit int

	// WorkStartHour and WorkEndHour (UTC, 0..24) delimit the working day;
	// outside of it traffic drops to OffHoursFactor. Default 9..18.
	WorkStartHour, WorkEndHour int
	// OffHoursFactor scales traffic at night (and at the edges of the day)
	// relative to working hours. Default 0.03.
	OffHoursFactor float64
	// WeekendFactor scales traffic on Saturday and Sunday. Default 0.06.
	WeekendFactor float64

	// MessagesPerDay is the mean number of messages a regular person sends on
	// a working day. Managers send 1.5x, hubs 1.3x. Default 40.
	MessagesPerDay float64
	// ChannelMix is the share of chat, email and meeting events. Default
	// 0.75 / 0.20 / 0.05. It is normalised, so only the ratios matter.
	ChannelMix ChannelMix
	// NoTextRate is the share of events without text. Default 0.10; set a
	// negative value for 0.
	NoTextRate float64

	// MalformedRate is the share of events replaced by bytes that break the
	// contract in varied ways (see MalformedReason). Default 0.
	MalformedRate float64
	// NotOptedInRate is the share of events that carry consent=false.
	// Default 0.
	NotOptedInRate float64

	// Scenarios are planted anomalies; they are reported by Org.Truth.
	Scenarios []Scenario
}

// ChannelMix weights the three channels of the contract.
type ChannelMix struct {
	Chat, Email, Meeting float64
}

// Defaults returns cfg with every unset field set to its default. It is the
// only place where defaults are decided.
func (cfg Config) Defaults() Config {
	if cfg.Teams == 0 {
		cfg.Teams = 8
	}
	if cfg.TeamSizeMin == 0 {
		cfg.TeamSizeMin = 6
	}
	if cfg.TeamSizeMax == 0 {
		cfg.TeamSizeMax = max(14, cfg.TeamSizeMin)
	}
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	cfg.Start = cfg.Start.UTC().Truncate(time.Hour)
	if cfg.Days == 0 {
		cfg.Days = 28
	}
	if cfg.WorkStartHour == 0 && cfg.WorkEndHour == 0 {
		cfg.WorkStartHour, cfg.WorkEndHour = 9, 18
	}
	if cfg.OffHoursFactor == 0 {
		cfg.OffHoursFactor = 0.03
	}
	if cfg.WeekendFactor == 0 {
		cfg.WeekendFactor = 0.06
	}
	if cfg.MessagesPerDay == 0 {
		cfg.MessagesPerDay = 40
	}
	if cfg.ChannelMix == (ChannelMix{}) {
		cfg.ChannelMix = ChannelMix{Chat: 0.75, Email: 0.20, Meeting: 0.05}
	}
	switch {
	case cfg.NoTextRate == 0:
		cfg.NoTextRate = 0.10
	case cfg.NoTextRate < 0:
		cfg.NoTextRate = 0
	}
	// Copy: never write through to the caller's slice.
	scenarios := make([]Scenario, len(cfg.Scenarios))
	for i, s := range cfg.Scenarios {
		scenarios[i] = s.withDefaults(cfg.Start, cfg.End())
	}
	cfg.Scenarios = scenarios
	return cfg
}

// End is the instant after the last generated hour (Start + Days).
func (cfg Config) End() time.Time { return cfg.Start.AddDate(0, 0, cfg.Days) }

// Validate reports the first problem of a Config with defaults applied.
func (cfg Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(cfg.Teams >= 1 && cfg.Teams <= 10000, "teams must be in 1..10000, got %d", cfg.Teams)
	check(cfg.TeamSizeMin >= 2, "team size min must be >= 2, got %d", cfg.TeamSizeMin)
	check(cfg.TeamSizeMax >= cfg.TeamSizeMin, "team size max %d < min %d", cfg.TeamSizeMax, cfg.TeamSizeMin)
	check(cfg.TeamSizeMax <= 1000, "team size max must be <= 1000, got %d", cfg.TeamSizeMax)
	check(cfg.Days >= 1, "days must be >= 1, got %d", cfg.Days)
	check(cfg.Limit >= 0, "limit must be >= 0, got %d", cfg.Limit)
	check(cfg.WorkStartHour >= 0 && cfg.WorkStartHour < cfg.WorkEndHour && cfg.WorkEndHour <= 24,
		"working hours must satisfy 0 <= start < end <= 24, got %d..%d", cfg.WorkStartHour, cfg.WorkEndHour)
	check(cfg.OffHoursFactor >= 0 && cfg.OffHoursFactor <= 1, "off-hours factor must be in [0,1], got %g", cfg.OffHoursFactor)
	check(cfg.WeekendFactor >= 0 && cfg.WeekendFactor <= 1, "weekend factor must be in [0,1], got %g", cfg.WeekendFactor)
	check(cfg.MessagesPerDay > 0, "messages per day must be > 0, got %g", cfg.MessagesPerDay)
	m := cfg.ChannelMix
	check(m.Chat >= 0 && m.Email >= 0 && m.Meeting >= 0 && m.Chat+m.Email+m.Meeting > 0,
		"channel mix must be non-negative with a positive sum, got %+v", m)
	check(cfg.NoTextRate >= 0 && cfg.NoTextRate <= 1, "no-text rate must be in [0,1], got %g", cfg.NoTextRate)
	check(cfg.MalformedRate >= 0 && cfg.NotOptedInRate >= 0 && cfg.MalformedRate+cfg.NotOptedInRate <= 1,
		"malformed rate %g and not-opted-in rate %g must be >= 0 with a sum <= 1", cfg.MalformedRate, cfg.NotOptedInRate)
	for i, s := range cfg.Scenarios {
		if err := s.validate(cfg); err != nil {
			errs = append(errs, fmt.Errorf("scenario %d (%s): %w", i+1, s, err))
		}
	}
	return errors.Join(errs...)
}
