// Package privacy holds the directory (person -> team) and consent state that
// ingest applies to every event, and decides what may be processed at all.
//
// The gate is the single place where rule 4 of the design (opt-out stops
// processing) is enforced, so it is consulted twice per event: once when the
// event is scored and again just before its batch is written, which closes
// the window in which an opt-out could race an in-flight batch.
package privacy

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"commpulse/pipeline/event"
)

// DropReason says why an event was dropped (not dead-lettered): it is valid
// but must not be processed. Values are metric label values.
type DropReason string

const (
	DropNotOptedIn DropReason = "not_opted_in" // the event itself says consent=false
	DropOptedOut   DropReason = "opted_out"    // the consent topic says the sender opted out
)

// DropReasons lists every DropReason.
var DropReasons = []DropReason{DropNotOptedIn, DropOptedOut}

// UnknownTeam is stored for people the directory does not know (yet). They
// still count for volume and the network, never as a team of their own.
const UnknownTeam = ""

// Gate is safe for concurrent use.
type Gate struct {
	mu       sync.RWMutex
	team     map[string]membership
	optedOut map[string]time.Time
	// optOuts counts opt-outs ever applied; a batch remembers the value it
	// was scored under and is re-filtered only if it changed.
	optOuts atomic.Uint64
}

// NewGate returns an empty gate: nobody opted out, nobody in a team.
func NewGate() *Gate {
	return &Gate{team: map[string]membership{}, optedOut: map[string]time.Time{}}
}

// membership is one person's directory entry: a v1 team for all time, or
// the effective-dated periods of a v2 record, sorted by valid_from.
type membership struct {
	team    string
	periods []event.DirectoryPeriod
}

// at returns the period in force at t (the latest-starting one when
// periods overlap), or ok=false; a v1 entry is one period for all time.
func (m membership) at(t time.Time) (event.DirectoryPeriod, bool) {
	if m.periods == nil {
		return event.DirectoryPeriod{Team: m.team}, m.team != ""
	}
	// The periods of one person are a handful: a scan from the newest.
	for i := len(m.periods) - 1; i >= 0; i-- {
		p := m.periods[i]
		if !t.Before(p.ValidFrom) && (p.ValidTo.IsZero() || t.Before(p.ValidTo)) {
			return p, true
		}
	}
	return event.DirectoryPeriod{}, false
}

func (m membership) teamAt(t time.Time) string {
	p, _ := m.at(t)
	return p.Team
}

// Admission is what the gate decides about an admitted event.
type Admission struct {
	// SenderTeam and RecipientTeams (in ev.Recipients order) are the teams
	// at the event's time; UnknownTeam for people the directory does not
	// place then.
	SenderTeam     string
	RecipientTeams []string
	// AfterHours is set when the sender's directory period at the event's
	// time gives a time zone: whether the event is outside their local
	// working hours. Nil leaves the judgement to analyze's organisation
	// default.
	AfterHours *bool
}

// ApplyDirectory applies one record of the directory topic. A nil record is a
// tombstone and removes the person.
func (g *Gate) ApplyDirectory(person string, d *event.Directory) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if d == nil {
		delete(g.team, person)
		return
	}
	m := membership{team: d.Team}
	if len(d.Periods) > 0 {
		m.periods = slices.Clone(d.Periods)
		slices.SortStableFunc(m.periods, func(a, b event.DirectoryPeriod) int { return a.ValidFrom.Compare(b.ValidFrom) })
	}
	g.team[person] = m
}

// ApplyConsent applies one record of the consent topic and reports whether it
// turned an allowed person into an opted-out one (the caller then erases).
// A nil record (tombstone) forgets the person's consent record.
func (g *Gate) ApplyConsent(person string, c *event.Consent) (newlyOptedOut bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, was := g.optedOut[person]
	switch {
	case c == nil || c.OptedIn:
		delete(g.optedOut, person)
	default:
		g.optedOut[person] = c.At
		if !was {
			g.optOuts.Add(1)
			return true
		}
	}
	return false
}

// Team returns the person's team at t, or UnknownTeam.
func (g *Gate) Team(person string, t time.Time) string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.team[person].teamAt(t)
}

// OptedOut reports whether the person opted out.
func (g *Gate) OptedOut(person string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	_, ok := g.optedOut[person]
	return ok
}

// OptedOutPersons returns everyone currently opted out.
func (g *Gate) OptedOutPersons() []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]string, 0, len(g.optedOut))
	for p := range g.optedOut {
		out = append(out, p)
	}
	return out
}

// Generation changes whenever somebody opts out.
func (g *Gate) Generation() uint64 { return g.optOuts.Load() }

// Sizes returns the number of directory entries and opted-out persons.
func (g *Gate) Sizes() (people, optedOut int) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.team), len(g.optedOut)
}

// Admit decides whether ev may be processed. It removes opted-out recipients
// from ev.Recipients in place (they must not be stored either) and returns
// the teams, at the event's time, of the sender and of the remaining
// recipients, in the same order.
func (g *Gate) Admit(ev *event.Event) (Admission, DropReason) {
	if !ev.Consent {
		return Admission{}, DropNotOptedIn
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if _, out := g.optedOut[ev.Sender]; out {
		return Admission{}, DropOptedOut
	}
	kept := ev.Recipients[:0]
	a := Admission{RecipientTeams: make([]string, 0, len(ev.Recipients))}
	for _, r := range ev.Recipients {
		if _, out := g.optedOut[r]; out {
			continue
		}
		kept = append(kept, r)
		a.RecipientTeams = append(a.RecipientTeams, g.team[r].teamAt(ev.OccurredAt))
	}
	ev.Recipients = kept
	if p, ok := g.team[ev.Sender].at(ev.OccurredAt); ok {
		a.SenderTeam = p.Team
		if after, ok := p.AfterHours(ev.OccurredAt); ok {
			a.AfterHours = &after
		}
	}
	return a, ""
}
