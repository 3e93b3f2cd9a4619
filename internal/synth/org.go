package synth

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"commpulse/pipeline/event"
)

// person is one member of the organisation. Indexes into Org.people are used
// everywhere inside the package; ids only leave it.
type person struct {
	id      string
	team    int // index into Org.teams
	manager bool
	hub     bool
	// activity scales the person's volume (managers 1.5, hubs 1.3, else ~1).
	activity float64
	// close are in-team colleagues this person writes to more often.
	close []int
	// liaison is a partner in another team (-1: none).
	liaison int
	// external are the few people of other teams this person writes to
	// (managers: every other manager too). Fixed, as real contacts are.
	external []int
}

type team struct {
	name    string
	members []int
	// pos and neg are the baseline shares of positive and negative texts.
	pos, neg float64
}

// Org is a generated organisation: its people, teams, communication network
// and planted scenarios. It is immutable after New and safe for concurrent
// use; every call to Events starts a fresh, identical stream.
type Org struct {
	cfg    Config
	keys   keys
	people []person
	teams  []team
	hubs   []int

	// Scenarios resolved to indexes, per kind.
	scenarios []resolvedScenario
	truth     Truth
}

type resolvedScenario struct {
	Scenario
	team   int // -1: none
	person int // -1: none
}

// New builds the organisation of cfg (after applying Defaults) or reports
// why cfg is invalid.
func New(cfg Config) (*Org, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("synth: invalid config: %w", err)
	}
	o := &Org{cfg: cfg, keys: newKeys(cfg.Seed)}
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6f7267)) // structure stream
	o.buildPeople(r)
	if err := o.resolveScenarios(r); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	return o, nil
}

// MustNew is New for tests and examples with a known-good Config.
func MustNew(cfg Config) *Org {
	o, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return o
}

// Config returns the effective configuration (defaults applied).
func (o *Org) Config() Config { return o.cfg }

func (o *Org) buildPeople(r *rand.Rand) {
	cfg := o.cfg
	o.teams = make([]team, cfg.Teams)
	for t := range o.teams {
		size := cfg.TeamSizeMin + r.IntN(cfg.TeamSizeMax-cfg.TeamSizeMin+1)
		tm := team{
			name: TeamName(t + 1),
			pos:  0.22 + 0.16*r.Float64(),
			neg:  0.06 + 0.10*r.Float64(),
		}
		for i := range size {
			n := len(o.people)
			tm.members = append(tm.members, n)
			p := person{
				id:       o.keys.personID(n),
				team:     t,
				manager:  i == 0,
				activity: 0.7 + 0.6*r.Float64(),
				liaison:  -1,
			}
			if p.manager {
				p.activity = 1.5
			}
			o.people = append(o.people, p)
		}
		o.teams[t] = tm
	}
	for t := range o.teams {
		members := o.teams[t].members
		for _, m := range members {
			for range 2 {
				if c := members[r.IntN(len(members))]; c != m {
					o.people[m].close = append(o.people[m].close, c)
				}
			}
		}
	}
	// A few hubs: non-managers who talk across the whole organisation.
	nHubs := max(1, cfg.Teams/3)
	for range nHubs {
		t := r.IntN(cfg.Teams)
		m := o.teams[t].members[1+r.IntN(len(o.teams[t].members)-1)]
		if !o.people[m].hub {
			o.people[m].hub = true
			o.people[m].activity = 1.3
			o.hubs = append(o.hubs, m)
		}
	}
	// Fixed external contacts: three people of other teams; managers also
	// know every other manager.
	if cfg.Teams > 1 {
		for i := range o.people {
			p := &o.people[i]
			for range 3 {
				u := (p.team + 1 + r.IntN(cfg.Teams-1)) % cfg.Teams
				members := o.teams[u].members
				p.external = append(p.external, members[r.IntN(len(members))])
			}
			if p.manager {
				for u := range o.teams {
					if u != p.team {
						p.external = append(p.external, o.teams[u].members[0])
					}
				}
			}
		}
	}
	// One liaison pair per team with another team.
	if cfg.Teams > 1 {
		for t := range o.teams {
			u := (t + 1 + r.IntN(cfg.Teams-1)) % cfg.Teams
			a := o.teams[t].members[1+r.IntN(len(o.teams[t].members)-1)]
			b := o.teams[u].members[1+r.IntN(len(o.teams[u].members)-1)]
			if o.people[a].liaison < 0 && o.people[b].liaison < 0 {
				o.people[a].liaison, o.people[b].liaison = b, a
			}
		}
	}
}

func (o *Org) resolveScenarios(r *rand.Rand) error {
	o.truth = Truth{Seed: o.cfg.Seed, Start: o.cfg.Start, End: o.cfg.End()}
	byID := make(map[string]int, len(o.people))
	for i, p := range o.people {
		byID[p.id] = i
	}
	for _, s := range o.cfg.Scenarios {
		rs := resolvedScenario{Scenario: s, team: -1, person: -1}
		if s.Team != "" {
			n, _ := teamNumber(s.Team) // checked by Validate
			rs.team = n - 1
		}
		switch {
		case s.Person != "":
			i, ok := byID[s.Person]
			if !ok {
				return fmt.Errorf("scenario %s: unknown person %q", s, s.Person)
			}
			if rs.team >= 0 && o.people[i].team != rs.team {
				return fmt.Errorf("scenario %s: person %s is not in %s", s, s.Person, s.Team)
			}
			rs.person, rs.team = i, o.people[i].team
		case s.Kind == Isolated || s.Kind == OptOut:
			if rs.team < 0 {
				rs.team = r.IntN(len(o.teams))
			}
			members := o.teams[rs.team].members
			rs.person = members[1+r.IntN(len(members)-1)] // never the manager
		}
		item := TruthItem{Kind: s.Kind, Start: s.Start, End: s.End}
		if rs.team >= 0 {
			item.Team = o.teams[rs.team].name
		}
		if rs.person >= 0 {
			item.Person = o.people[rs.person].id
			rs.Person = item.Person
		}
		o.scenarios = append(o.scenarios, rs)
		o.truth.Items = append(o.truth.Items, item)
	}
	return nil
}

// Directory returns one record per person, valid from Config.Start, in a
// stable order (team by team, manager first).
func (o *Org) Directory() []event.Directory {
	out := make([]event.Directory, len(o.people))
	for i, p := range o.people {
		out[i] = event.Directory{Person: p.id, Team: o.teams[p.team].name, ValidFrom: o.cfg.Start}
	}
	return out
}

// Consents returns the opt-in of everyone at Config.Start, followed by the
// opt-outs of OptOut scenarios at their time, in time order.
func (o *Org) Consents() []event.Consent {
	out := make([]event.Consent, 0, len(o.people)+len(o.scenarios))
	for _, p := range o.people {
		out = append(out, event.Consent{Person: p.id, OptedIn: true, At: o.cfg.Start})
	}
	optOuts := o.optOuts()
	for _, s := range optOuts {
		out = append(out, event.Consent{Person: o.people[s.person].id, OptedIn: false, At: s.Start})
	}
	return out
}

// optOuts returns the OptOut scenarios in time order.
func (o *Org) optOuts() []resolvedScenario {
	var out []resolvedScenario
	for _, s := range o.scenarios {
		if s.Kind == OptOut {
			out = append(out, s)
		}
	}
	// Insertion sort: a handful of items, stable.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Start.Before(out[j-1].Start); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Teams returns the team names in order.
func (o *Org) Teams() []string {
	out := make([]string, len(o.teams))
	for i, t := range o.teams {
		out[i] = t.name
	}
	return out
}

// Truth returns the planted scenarios.
func (o *Org) Truth() Truth {
	t := o.truth
	t.Items = append([]TruthItem(nil), o.truth.Items...)
	return t
}

// Truth is the ground truth of a run: the planted scenarios with their
// resolved teams and persons. Analysis stages are scored against it per
// (team, window).
type Truth struct {
	Seed  int64       `json:"seed"`
	Start time.Time   `json:"start"`
	End   time.Time   `json:"end"`
	Items []TruthItem `json:"items"`
}

// TruthItem is one planted scenario. The window is [Start, End); for opt_out
// Start == End is the instant of the opt-out.
type TruthItem struct {
	Kind   ScenarioKind `json:"kind"`
	Team   string       `json:"team,omitempty"`
	Person string       `json:"person,omitempty"`
	Start  time.Time    `json:"start"`
	End    time.Time    `json:"end"`
}

// Overlapping returns the items of team whose window overlaps [from, to).
// An opt_out overlaps a window that contains its instant.
func (t Truth) Overlapping(team string, from, to time.Time) []TruthItem {
	var out []TruthItem
	for _, it := range t.Items {
		if it.Team != team {
			continue
		}
		end := it.End
		if !end.After(it.Start) {
			end = it.Start.Add(time.Nanosecond)
		}
		if it.Start.Before(to) && end.After(from) {
			out = append(out, it)
		}
	}
	return out
}

// MarshalTruth encodes t as indented JSON.
func MarshalTruth(t Truth) ([]byte, error) {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("synth: encode truth: %w", err)
	}
	return append(b, '\n'), nil
}
