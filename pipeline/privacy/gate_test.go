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
	team, rteams, drop := g.Admit(e)
	if drop != "" || team != "t1" || len(e.Recipients) != 3 || rteams[0] != "t2" || rteams[2] != UnknownTeam {
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
	_, rteams, _ = g.Admit(e)
	if len(e.Recipients) != 2 || e.Recipients[0] != "p_000000000000000c" || len(rteams) != 2 {
		t.Fatalf("opted-out recipient kept: %v %v", e.Recipients, rteams)
	}
	e = &event.Event{Sender: "p_000000000000000b", Consent: true}
	if _, _, drop := g.Admit(e); drop != DropOptedOut {
		t.Fatalf("opted-out sender: drop=%q", drop)
	}
	e = &event.Event{Sender: "p_000000000000000a", Consent: false}
	if _, _, drop := g.Admit(e); drop != DropNotOptedIn {
		t.Fatalf("consent=false: drop=%q", drop)
	}
	g.ApplyConsent("p_000000000000000b", &event.Consent{Person: "p_000000000000000b", OptedIn: true})
	if g.OptedOut("p_000000000000000b") {
		t.Fatal("opt back in not applied")
	}
	g.ApplyDirectory("p_000000000000000a", nil)
	if g.Team("p_000000000000000a") != UnknownTeam {
		t.Fatal("tombstone not applied")
	}
}
