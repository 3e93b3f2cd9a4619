// Package privacy holds the directory (person -> team) and consent state that
// ingest applies to every event, and decides what may be processed at all.
//
// The gate is the single place where rule 4 of the design (opt-out stops
// processing) is enforced, so it is consulted twice per event: once when the
// event is scored and again just before its batch is written, which closes
// the window in which an opt-out could race an in-flight batch.
package privacy

import (
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
	team     map[string]string
	optedOut map[string]time.Time
	// optOuts counts opt-outs ever applied; a batch remembers the value it
	// was scored under and is re-filtered only if it changed.
	optOuts atomic.Uint64
}

// NewGate returns an empty gate: nobody opted out, nobody in a team.
func NewGate() *Gate {
	return &Gate{team: map[string]string{}, optedOut: map[string]time.Time{}}
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
	g.team[person] = d.Team
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

// Team returns the person's team, or UnknownTeam.
func (g *Gate) Team(person string) string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.team[person]
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
// the teams of the remaining recipients, in the same order.
func (g *Gate) Admit(ev *event.Event) (senderTeam string, recipientTeams []string, drop DropReason) {
	if !ev.Consent {
		return "", nil, DropNotOptedIn
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if _, out := g.optedOut[ev.Sender]; out {
		return "", nil, DropOptedOut
	}
	kept := ev.Recipients[:0]
	recipientTeams = make([]string, 0, len(ev.Recipients))
	for _, r := range ev.Recipients {
		if _, out := g.optedOut[r]; out {
			continue
		}
		kept = append(kept, r)
		recipientTeams = append(recipientTeams, g.team[r])
	}
	ev.Recipients = kept
	return g.team[ev.Sender], recipientTeams, ""
}
