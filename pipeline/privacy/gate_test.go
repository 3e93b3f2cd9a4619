package privacy

import (
	"testing"
	"time"

	"commpulse/pipeline/event"
)

func TestGate(t *testing.T) {
	g := NewGate()
	g.ApplyDirectory("p_a", &event.Directory{Person: "p_a", Team: "t1"})
	g.ApplyDirectory("p_b", &event.Directory{Person: "p_b", Team: "t2"})
	g.ApplyDirectory("p_c", &event.Directory{Person: "p_c", Team: "t2"})

	ev := func() *event.Event {
		return &event.Event{Sender: "p_a", Recipients: []string{"p_b", "p_c", "p_x"}, Consent: true}
	}
	e := ev()
	team, rteams, drop := g.Admit(e)
	if drop != "" || team != "t1" || len(e.Recipients) != 3 || rteams[0] != "t2" || rteams[2] != UnknownTeam {
		t.Fatalf("admit: team=%q rteams=%q drop=%q rec=%v", team, rteams, drop, e.Recipients)
	}

	gen := g.Generation()
	if !g.ApplyConsent("p_b", &event.Consent{Person: "p_b", OptedIn: false, At: time.Now()}) {
		t.Fatal("first opt-out must report newlyOptedOut")
	}
	if g.ApplyConsent("p_b", &event.Consent{Person: "p_b", OptedIn: false}) {
		t.Fatal("repeated opt-out must not report newlyOptedOut")
	}
	if g.Generation() == gen {
		t.Fatal("generation did not move on opt-out")
	}
	e = ev()
	_, rteams, _ = g.Admit(e)
	if len(e.Recipients) != 2 || e.Recipients[0] != "p_c" || len(rteams) != 2 {
		t.Fatalf("opted-out recipient kept: %v %v", e.Recipients, rteams)
	}
	e = &event.Event{Sender: "p_b", Consent: true}
	if _, _, drop := g.Admit(e); drop != DropOptedOut {
		t.Fatalf("opted-out sender: drop=%q", drop)
	}
	e = &event.Event{Sender: "p_a", Consent: false}
	if _, _, drop := g.Admit(e); drop != DropNotOptedIn {
		t.Fatalf("consent=false: drop=%q", drop)
	}
	g.ApplyConsent("p_b", &event.Consent{Person: "p_b", OptedIn: true})
	if g.OptedOut("p_b") {
		t.Fatal("opt back in not applied")
	}
	g.ApplyDirectory("p_a", nil)
	if g.Team("p_a") != UnknownTeam {
		t.Fatal("tombstone not applied")
	}
}
