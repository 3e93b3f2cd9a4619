package privacy

import (
	"testing"
	"time"

	"commpulse/pipeline/event"
)

func TestGate(t *testing.T) {
	g := NewGate()
	g.ApplyDirectory("p_000000000000000a", &event.Directory{Person: "p_000000000000000a", Team: "t1"})
	g.ApplyDirectory("p_000000000000000b", &event.Directory{Person: "p_000000000000000b", Team: "t2"})
	g.ApplyDirectory("p_000000000000000c", &event.Directory{Person: "p_000000000000000c", Team: "t2"})

	ev := func() *event.Event {
		return &event.Event{Sender: "p_000000000000000a", Recipients: []string{"p_000000000000000b", "p_000000000000000c", "p_00000000000000ff"}, Consent: true}
	}
	e := ev()
	adm, drop := g.Admit(e)
	team, rteams := adm.SenderTeam, adm.RecipientTeams
	if drop != "" || team != "t1" || adm.AfterHours != nil || len(e.Recipients) != 3 || rteams[0] != "t2" || rteams[2] != UnknownTeam {
		t.Fatalf("admit: team=%q rteams=%q drop=%q rec=%v", team, rteams, drop, e.Recipients)
	}

	gen := g.Generation()
	if !g.ApplyConsent("p_000000000000000b", &event.Consent{Person: "p_000000000000000b", OptedIn: false, At: time.Now()}) {
		t.Fatal("first opt-out must report newlyOptedOut")
	}
	if g.ApplyConsent("p_000000000000000b", &event.Consent{Person: "p_000000000000000b", OptedIn: false}) {
		t.Fatal("repeated opt-out must not report newlyOptedOut")
	}
	if g.Generation() == gen {
		t.Fatal("generation did not move on opt-out")
	}
	e = ev()
	adm, _ = g.Admit(e)
	rteams = adm.RecipientTeams
	if len(e.Recipients) != 2 || e.Recipients[0] != "p_000000000000000c" || len(rteams) != 2 {
		t.Fatalf("opted-out recipient kept: %v %v", e.Recipients, rteams)
	}
	e = &event.Event{Sender: "p_000000000000000b", Consent: true}
	if _, drop := g.Admit(e); drop != DropOptedOut {
		t.Fatalf("opted-out sender: drop=%q", drop)
	}
	e = &event.Event{Sender: "p_000000000000000a", Consent: false}
	if _, drop := g.Admit(e); drop != DropNotOptedIn {
		t.Fatalf("consent=false: drop=%q", drop)
	}
	g.ApplyConsent("p_000000000000000b", &event.Consent{Person: "p_000000000000000b", OptedIn: true})
	if g.OptedOut("p_000000000000000b") {
		t.Fatal("opt back in not applied")
	}
	g.ApplyDirectory("p_000000000000000a", nil)
	if g.Team("p_000000000000000a", time.Now()) != UnknownTeam {
		t.Fatal("tombstone not applied")
	}
}

// A v2 directory record places a person in the team of the period holding
// the event's time, and judges after-hours in the period's time zone.
func TestGateEffectiveDated(t *testing.T) {
	day := func(d string) time.Time { t, _ := time.Parse(time.RFC3339, d); return t }
	g := NewGate()
	const p = "p_000000000000000a"
	g.ApplyDirectory(p, &event.Directory{Person: p, Team: "sales", Periods: []event.DirectoryPeriod{
		// Out of order on purpose: the gate sorts by valid_from.
		{Team: "sales", ValidFrom: day("2026-03-01T00:00:00Z"), TimeZone: "America/New_York"},
		{Team: "support", ValidFrom: day("2026-01-01T00:00:00Z"), ValidTo: day("2026-02-01T00:00:00Z"), TimeZone: "Europe/Berlin", WorkStartHour: 7, WorkEndHour: 15},
	}})
	tests := []struct {
		name  string
		at    string
		team  string
		after *bool
	}{
		{name: "before the first period", at: "2025-12-31T12:00:00Z", team: UnknownTeam},
		{name: "support, 08:00 Berlin, inside 7-15", at: "2026-01-14T07:00:00Z", team: "support", after: ptr(false)},
		{name: "support, 16:00 Berlin, after 15", at: "2026-01-14T15:00:00Z", team: "support", after: ptr(true)},
		{name: "gap between periods", at: "2026-02-15T12:00:00Z", team: UnknownTeam},
		{name: "sales, 10:00 New York (15:00 UTC)", at: "2026-03-11T15:00:00Z", team: "sales", after: ptr(false)},
		{name: "sales, 20:00 New York (00:00 UTC next day)", at: "2026-03-12T00:00:00Z", team: "sales", after: ptr(true)},
		{name: "sales, Saturday noon New York", at: "2026-03-14T16:00:00Z", team: "sales", after: ptr(true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &event.Event{Sender: p, Recipients: []string{p}, OccurredAt: day(tt.at), Consent: true}
			adm, drop := g.Admit(ev)
			if drop != "" || adm.SenderTeam != tt.team || adm.RecipientTeams[0] != tt.team {
				t.Fatalf("Admit at %s: team %q, recipient team %q, drop %q; want %q", tt.at, adm.SenderTeam, adm.RecipientTeams[0], drop, tt.team)
			}
			switch {
			case (adm.AfterHours == nil) != (tt.after == nil):
				t.Fatalf("after hours %v, want %v", adm.AfterHours, tt.after)
			case tt.after != nil && *adm.AfterHours != *tt.after:
				t.Fatalf("after hours %v, want %v", *adm.AfterHours, *tt.after)
			}
			if got := g.Team(p, day(tt.at)); got != tt.team {
				t.Fatalf("Team = %q, want %q", got, tt.team)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
