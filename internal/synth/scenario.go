package synth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ScenarioKind names a planted anomaly. The values are stable strings: they
// appear in the ground-truth JSON.
type ScenarioKind string

const (
	// SentimentDrop: the team's share of negative messages jumps to about
	// DropNegativeShare for the window (default 3 days).
	SentimentDrop ScenarioKind = "sentiment_drop"
	// VolumeSpike: the team sends SpikeFactor times its usual volume for the
	// window (default 4 hours).
	VolumeSpike ScenarioKind = "volume_spike"
	// SlowDecline: the team's negative share rises linearly from its baseline
	// to DropNegativeShare over the window (default 14 days) and recovers at
	// its end, so the ground truth is exactly the window.
	SlowDecline ScenarioKind = "slow_decline"
	// Silo: from Start the team neither sends to nor receives from other
	// teams (default: until the end of the generated period).
	Silo ScenarioKind = "silo"
	// Isolated: from Start one member (Scenario.Person, or a non-manager
	// chosen from the seed) sends IsolatedFactor of their usual volume, only
	// to their manager, and nobody writes to them.
	Isolated ScenarioKind = "isolated"
	// OptOut: a person opts out at Start; the organisation then emits a
	// Consent record with OptedIn=false at that instant and their later
	// events are of Kind OptedOut. Team is optional.
	OptOut ScenarioKind = "opt_out"
)

// Effect sizes of the planted scenarios. They are large on purpose: the
// scenarios exist to check that detectors find what is clearly there.
const (
	DropNegativeShare = 0.60
	SpikeFactor       = 3.0
	IsolatedFactor    = 0.05
)

// Default scenario windows per kind; 0 means "until the end of the period".
var defaultScenarioLength = map[ScenarioKind]time.Duration{
	SentimentDrop: 3 * 24 * time.Hour,
	VolumeSpike:   4 * time.Hour,
	SlowDecline:   14 * 24 * time.Hour,
	Silo:          0,
	Isolated:      0,
	OptOut:        0,
}

// Scenario is one planted anomaly.
type Scenario struct {
	Kind ScenarioKind
	// Team is the affected team, e.g. "team-3". Optional for OptOut.
	Team string
	// Person is the affected person for Isolated and OptOut; empty means the
	// generator chooses one deterministically.
	Person string
	// Start and End delimit the window [Start, End). A zero End means the
	// default length of the kind. OptOut ignores End.
	Start, End time.Time
}

func (s Scenario) String() string {
	var b strings.Builder
	b.WriteString(string(s.Kind))
	if s.Team != "" {
		b.WriteString(":" + s.Team)
	}
	b.WriteString(":" + s.Start.UTC().Format(time.RFC3339))
	if !s.End.IsZero() && s.Kind != OptOut {
		b.WriteString(".." + s.End.UTC().Format(time.RFC3339))
	}
	return b.String()
}

func (s Scenario) withDefaults(start, end time.Time) Scenario {
	s.Start = s.Start.UTC()
	switch {
	case s.Kind == OptOut:
		s.End = s.Start
	case s.End.IsZero():
		if d := defaultScenarioLength[s.Kind]; d > 0 {
			s.End = s.Start.Add(d)
		} else {
			s.End = end
		}
	}
	s.End = s.End.UTC()
	return s
}

func (s Scenario) validate(cfg Config) error {
	if _, ok := defaultScenarioLength[s.Kind]; !ok {
		return fmt.Errorf("unknown kind %q", s.Kind)
	}
	if s.Team == "" && s.Kind != OptOut {
		return errors.New("team is required")
	}
	if s.Team != "" {
		if n, ok := teamNumber(s.Team); !ok || n < 1 || n > cfg.Teams {
			return fmt.Errorf("unknown team %q (teams are team-1..team-%d)", s.Team, cfg.Teams)
		}
	}
	if s.Person != "" && s.Kind != Isolated && s.Kind != OptOut {
		return errors.New("person is only meaningful for isolated and opt_out")
	}
	if s.Start.Before(cfg.Start) || !s.Start.Before(cfg.End()) {
		return fmt.Errorf("start %s is outside the generated period %s..%s",
			s.Start.Format(time.RFC3339), cfg.Start.Format(time.RFC3339), cfg.End().Format(time.RFC3339))
	}
	if s.Kind != OptOut && !s.End.After(s.Start) {
		return errors.New("end must be after start")
	}
	return nil
}

// contains reports whether t lies in [Start, End).
func (s Scenario) contains(t time.Time) bool {
	return !t.Before(s.Start) && t.Before(s.End)
}

// TeamName returns the name of team i (1-based): "team-3".
func TeamName(i int) string { return "team-" + strconv.Itoa(i) }

func teamNumber(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "team-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}

var kindAliases = map[string]ScenarioKind{
	"drop":     SentimentDrop,
	"spike":    VolumeSpike,
	"decline":  SlowDecline,
	"silo":     Silo,
	"isolated": Isolated,
	"optout":   OptOut,
}

// ScenarioSpecHelp documents the syntax accepted by ParseScenarios.
const ScenarioSpecHelp = `comma-separated planted scenarios, each KIND:TEAM:START[:LENGTH]
  KIND   drop (sentiment drop, default 3d), spike (volume x3, default 4h),
         decline (slow sentiment decline, default 14d), silo (team stops talking
         to other teams, default until the end), isolated (one member stops
         talking, default until the end), optout (a person opts out; TEAM optional:
         optout:START or optout:TEAM:START)
  TEAM   team-1 .. team-N
  START  2026-11-10, 2026-11-12T10:00 or RFC 3339 (UTC)
  LENGTH Go duration with an extra unit d for days: 3d, 4h, 90m, 1d12h
  e.g. drop:team-3:2026-11-10:3d,spike:team-5:2026-11-12T10:00:4h,silo:team-2:2026-11-15,optout:2026-11-08`

// ParseScenarios parses a compact scenario list (see ScenarioSpecHelp). An
// empty spec gives no scenarios. Teams and times are checked against the
// Config later, by Validate.
func ParseScenarios(spec string) ([]Scenario, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	var out []Scenario
	for item := range strings.SplitSeq(spec, ",") {
		s, err := parseScenario(strings.TrimSpace(item))
		if err != nil {
			return nil, fmt.Errorf("scenario %q: %w", item, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseScenario(item string) (Scenario, error) {
	// Times contain colons (10:00), so split on ':' only between fields: the
	// kind, then an optional team, then the start, then an optional length.
	kindStr, rest, ok := strings.Cut(item, ":")
	if !ok {
		return Scenario{}, errors.New("want KIND:TEAM:START[:LENGTH]")
	}
	kind, ok := kindAliases[kindStr]
	if !ok {
		return Scenario{}, fmt.Errorf("unknown kind %q (want drop, spike, decline, silo, isolated or optout)", kindStr)
	}
	s := Scenario{Kind: kind}
	if team, after, ok := strings.Cut(rest, ":"); ok && strings.HasPrefix(team, "team-") {
		s.Team, rest = team, after
	} else if kind != OptOut {
		return Scenario{}, errors.New("want KIND:TEAM:START[:LENGTH] with TEAM like team-3")
	}
	startStr, lengthStr := splitStartLength(rest)
	start, err := parseStart(startStr)
	if err != nil {
		return Scenario{}, err
	}
	s.Start = start
	if lengthStr != "" {
		if kind == OptOut {
			return Scenario{}, errors.New("optout takes no length")
		}
		d, err := parseLength(lengthStr)
		if err != nil {
			return Scenario{}, err
		}
		s.End = start.Add(d)
	}
	return s, nil
}

// splitStartLength separates "2026-11-12T10:00:4h" into the start and the
// length: the length is the last ':'-field if it ends in a duration unit.
func splitStartLength(s string) (start, length string) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, ""
	}
	last := s[i+1:]
	if last != "" && strings.ContainsAny(last[len(last)-1:], "dhms") {
		return s[:i], last
	}
	return s, ""
}

func parseStart(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02T15", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad start %q (want 2026-11-10, 2026-11-12T10:00 or RFC 3339)", s)
}

// parseLength parses a Go duration that may start with a number of days:
// "3d", "1d12h", "4h".
func parseLength(s string) (time.Duration, error) {
	var d time.Duration
	if days, rest, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad length %q", s)
		}
		d, s = time.Duration(n)*24*time.Hour, rest
	}
	if s != "" {
		more, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("bad length %q: %w", s, err)
		}
		d += more
	}
	if d <= 0 {
		return 0, fmt.Errorf("length must be positive, got %q", s)
	}
	return d, nil
}
