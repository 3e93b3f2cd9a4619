package synth

import (
	"testing"
	"time"
)

// day returns DefaultStart plus d days and h hours.
func day(d, h int) time.Time { return DefaultStart.AddDate(0, 0, d).Add(time.Duration(h) * time.Hour) }

// index maps person ids to teams and finds each team's manager (the first
// directory entry of a team).
type index struct {
	team    map[string]string
	manager map[string]string // team -> manager id
}

func newIndex(o *Org) index {
	ix := index{team: map[string]string{}, manager: map[string]string{}}
	for _, d := range o.Directory() {
		ix.team[d.Person] = d.Team
		if _, ok := ix.manager[d.Team]; !ok {
			ix.manager[d.Team] = d.Person
		}
	}
	return ix
}

// negShare is the share of negative texts among g with text, for sender team
// team in [from, to).
func negShare(gs []Generated, ix index, team string, from, to time.Time) (float64, int) {
	neg, n := 0, 0
	for _, g := range gs {
		at := g.Event.OccurredAt
		if g.Event.Text == "" || ix.team[g.Event.Sender] != team || at.Before(from) || !at.Before(to) {
			continue
		}
		n++
		if g.Tone == ToneNegative {
			neg++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return float64(neg) / float64(n), n
}

func volume(gs []Generated, ix index, team string, from, to time.Time) int {
	n := 0
	for _, g := range gs {
		at := g.Event.OccurredAt
		if ix.team[g.Event.Sender] == team && !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

func TestScenarios(t *testing.T) {
	scen, err := ParseScenarios("drop:team-2:2026-11-10:3d,spike:team-3:2026-11-11T10:00:4h," +
		"decline:team-4:2026-11-03:14d,silo:team-1:2026-11-09,isolated:team-5:2026-11-09,optout:team-6:2026-11-12T12:00")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Seed: 21, Days: 21, Scenarios: scen}
	o := MustNew(cfg)
	gs := collect(t, cfg)
	ix := newIndex(o)
	truth := o.Truth()
	if len(truth.Items) != len(scen) {
		t.Fatalf("truth has %d items, want %d", len(truth.Items), len(scen))
	}

	t.Run("sentiment drop", func(t *testing.T) {
		during, n := negShare(gs, ix, "team-2", day(8, 0), day(11, 0))
		before, _ := negShare(gs, ix, "team-2", day(0, 0), day(7, 0))
		other, _ := negShare(gs, ix, "team-7", day(8, 0), day(11, 0))
		t.Logf("team-2 negative share %.2f during (%d texts), %.2f the week before; team-7 %.2f", during, n, before, other)
		if during < DropNegativeShare-0.1 || before > 0.2 || other > 0.2 {
			t.Errorf("negative share during %.2f, before %.2f, other team %.2f", during, before, other)
		}
	})
	t.Run("volume spike", func(t *testing.T) {
		// Wednesday 10:00-14:00, against the same hours a week earlier.
		during := volume(gs, ix, "team-3", day(9, 10), day(9, 14))
		before := volume(gs, ix, "team-3", day(2, 10), day(2, 14))
		t.Logf("team-3: %d events during the spike, %d a week before", during, before)
		if float64(during) < 2*float64(before) || before == 0 {
			t.Errorf("spike %d vs %d the week before", during, before)
		}
	})
	t.Run("slow decline", func(t *testing.T) {
		// The decline runs from day 1 (Tuesday) to day 15; compare working days.
		first, _ := negShare(gs, ix, "team-4", day(1, 0), day(3, 0))
		mid, _ := negShare(gs, ix, "team-4", day(7, 0), day(9, 0))
		last, _ := negShare(gs, ix, "team-4", day(14, 0), day(15, 0))
		after, _ := negShare(gs, ix, "team-4", day(15, 0), day(19, 0))
		t.Logf("team-4 negative share: %.2f first days, %.2f middle, %.2f last days, %.2f after", first, mid, last, after)
		if !(first < mid && mid < last) || last < 0.45 || after > 0.25 {
			t.Errorf("no linear decline and recovery: %.2f, %.2f, %.2f, then %.2f", first, mid, last, after)
		}
	})
	t.Run("silo", func(t *testing.T) {
		cross := func(from, to time.Time) int {
			n := 0
			for _, g := range gs {
				at := g.Event.OccurredAt
				if at.Before(from) || !at.Before(to) {
					continue
				}
				st := ix.team[g.Event.Sender]
				for _, rc := range g.Event.Recipients {
					if rt := ix.team[rc]; rt != st && (st == "team-1" || rt == "team-1") {
						n++
					}
				}
			}
			return n
		}
		before, after := cross(day(0, 0), day(7, 0)), cross(day(7, 0), day(21, 0))
		if before == 0 || after != 0 {
			t.Errorf("team-1 cross-team recipients: %d before the silo, %d after (want > 0 and 0)", before, after)
		}
	})
	t.Run("isolated", func(t *testing.T) {
		var it TruthItem
		for _, x := range truth.Items {
			if x.Kind == Isolated {
				it = x
			}
		}
		if ix.team[it.Person] != "team-5" || it.Person == ix.manager["team-5"] {
			t.Fatalf("isolated person %q is not a non-manager of team-5", it.Person)
		}
		var sentBefore, sentAfter, receivedAfter int
		for _, g := range gs {
			after := !g.Event.OccurredAt.Before(it.Start)
			if g.Event.Sender == it.Person {
				if !after {
					sentBefore++
					continue
				}
				sentAfter++
				if len(g.Event.Recipients) != 1 || g.Event.Recipients[0] != ix.manager["team-5"] {
					t.Fatalf("isolated person wrote to %v", g.Event.Recipients)
				}
			}
			for _, rc := range g.Event.Recipients {
				if after && rc == it.Person {
					receivedAfter++
				}
			}
		}
		// 7 days before, 14 after at 5% of the volume.
		if receivedAfter != 0 || sentBefore == 0 || float64(sentAfter) > 0.3*float64(sentBefore) {
			t.Errorf("isolated: sent %d before, %d after; received %d after", sentBefore, sentAfter, receivedAfter)
		}
	})
	t.Run("opt out", func(t *testing.T) {
		var it TruthItem
		for _, x := range truth.Items {
			if x.Kind == OptOut {
				it = x
			}
		}
		if ix.team[it.Person] != "team-6" || !it.Start.Equal(day(10, 12)) || !it.End.Equal(it.Start) {
			t.Fatalf("opt-out truth %+v", it)
		}
		consents := o.Consents()
		if c := consents[len(consents)-1]; c.Person != it.Person || c.OptedIn || !c.At.Equal(it.Start) {
			t.Fatalf("last consent record %+v, want the opt-out of %s", c, it.Person)
		}
		var before, after int
		for _, g := range gs {
			mine := g.Event.Sender == it.Person
			late := !g.Event.OccurredAt.Before(it.Start)
			switch {
			case g.Kind == OptedOut && !(mine && late):
				t.Fatalf("event of %s at %s marked opted out", g.Event.Sender, g.Event.OccurredAt)
			case mine && late && g.Kind != OptedOut:
				t.Fatalf("event after the opt-out has kind %s", g.Kind)
			case mine && late:
				after++
			case mine:
				before++
			}
		}
		if before == 0 || after == 0 {
			t.Errorf("opt-out person: %d events before, %d after; want both", before, after)
		}
	})
	t.Run("truth overlapping", func(t *testing.T) {
		tests := []struct {
			team     string
			from, to time.Time
			want     int
		}{
			{"team-2", day(9, 0), day(10, 0), 1},
			{"team-2", day(11, 0), day(12, 0), 0}, // the drop ends at day 11, exclusive
			{"team-2", day(7, 0), day(8, 0), 0},
			{"team-6", day(10, 12), day(10, 13), 1}, // the opt-out instant
			{"team-6", day(10, 13), day(10, 14), 0},
			{"team-1", day(20, 0), day(21, 0), 1}, // silo until the end
			{"team-8", day(0, 0), day(21, 0), 0},
		}
		for _, tt := range tests {
			if got := len(truth.Overlapping(tt.team, tt.from, tt.to)); got != tt.want {
				t.Errorf("Overlapping(%s, %s, %s) = %d items, want %d", tt.team, tt.from, tt.to, got, tt.want)
			}
		}
	})
}

func TestSeasonalityAndNetwork(t *testing.T) {
	cfg := Config{Seed: 4, Days: 14}
	o := MustNew(cfg)
	gs := collect(t, cfg)
	ix := newIndex(o)

	// Per-hour volume: working hours on weekdays against nights and weekends.
	var work, night, weekend, nWork, nNight, nWeekend float64
	perHour := map[time.Time]float64{}
	for _, g := range gs {
		perHour[g.Event.OccurredAt.Truncate(time.Hour)]++
	}
	for h := DefaultStart; h.Before(cfg.Defaults().End()); h = h.Add(time.Hour) {
		wd, hr := h.Weekday(), h.Hour()
		switch {
		case wd == time.Saturday || wd == time.Sunday:
			if hr >= 9 && hr < 18 {
				weekend += perHour[h]
				nWeekend++
			}
		case hr >= 9 && hr < 18 && hr != 12:
			work += perHour[h]
			nWork++
		case hr < 7 || hr > 19:
			night += perHour[h]
			nNight++
		}
	}
	work, night, weekend = work/nWork, night/nNight, weekend/nWeekend
	t.Logf("mean events per hour: weekday work %.1f, weekday night %.1f, weekend day %.1f", work, night, weekend)
	if work < 10*night || work < 5*weekend {
		t.Errorf("no daily/weekly seasonality: work %.1f, night %.1f, weekend %.1f", work, night, weekend)
	}
	// Volume per person per working day is about MessagesPerDay (activity averages ~1).
	people := float64(len(o.Directory()))
	perDay := work * (nWork / 10) / people // 10 weekdays
	if perDay < 0.6*40 || perDay > 1.4*40 {
		t.Errorf("%.1f messages per person per working day (working hours only), want about 40", perDay)
	}

	// Network: mostly inside teams; managers and hubs have more contacts.
	inTeam, all := 0, 0
	contacts := map[string]map[string]bool{}
	for _, g := range gs {
		s := g.Event.Sender
		for _, rc := range g.Event.Recipients {
			all++
			if ix.team[rc] == ix.team[s] {
				inTeam++
			}
			for _, pair := range [][2]string{{s, rc}, {rc, s}} {
				if contacts[pair[0]] == nil {
					contacts[pair[0]] = map[string]bool{}
				}
				contacts[pair[0]][pair[1]] = true
			}
		}
	}
	share := float64(inTeam) / float64(all)
	if share < 0.7 || share > 0.95 {
		t.Errorf("in-team share of recipients %.2f, want mostly in-team but not closed", share)
	}
	var mgr, member, nMgr, nMember float64
	managers := map[string]bool{}
	for _, m := range ix.manager {
		managers[m] = true
	}
	for p, c := range contacts {
		if managers[p] {
			mgr += float64(len(c))
			nMgr++
		} else {
			member += float64(len(c))
			nMember++
		}
	}
	t.Logf("in-team share %.2f; mean contacts: managers %.1f, members %.1f", share, mgr/nMgr, member/nMember)
	if mgr/nMgr <= member/nMember {
		t.Errorf("managers have %.1f contacts on average, members %.1f", mgr/nMgr, member/nMember)
	}
	// Recipients: small threads mostly, with occasional group emails.
	sizes := map[int]int{}
	for _, g := range gs {
		sizes[min(len(g.Event.Recipients), 5)]++
	}
	if sizes[1] < sizes[2] || sizes[2] == 0 || sizes[5] == 0 {
		t.Errorf("recipient counts %v: want 1 most common, some groups", sizes)
	}
}
