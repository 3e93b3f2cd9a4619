package analyze

import (
	"flag"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/store"
)

// belongingOrg builds published inputs of five teams (t1..t5) over the 35
// days before day and day itself: working days with 80 scored messages,
// mean compound about 0.25 (team ti a little higher for higher i),
// negative share about 0.15, E-I index about -0.3 and after-hours share
// about 0.1, each with a small seeded jitter but on day itself; weekend
// days quieter, with
// after-hours share 1. edit may change any input (the day's, to plant).
func belongingOrg(day time.Time, edit func(in *store.BelongingInput)) []store.BelongingInput {
	r := rand.New(rand.NewPCG(7, 11))
	var out []store.BelongingInput
	for d := day.AddDate(0, 0, -35); !d.After(day); d = d.AddDate(0, 0, 1) {
		j := func(sd float64) float64 { return sd * r.NormFloat64() }
		if d.Equal(day) {
			j = func(float64) float64 { return 0 } // the day itself is usual unless edited
		}
		for i, team := range []string{"t1", "t2", "t3", "t4", "t5"} {
			in := store.BelongingInput{Day: d, Team: team, ActiveMembers: 8, Messages: 300, Scored: 80,
				MeanCompound: 0.22 + 0.02*float64(i) + j(0.03), NegativeShare: 0.15 + j(0.02), AfterHoursShare: 0.1 + j(0.015),
				HasNetwork: true, NetSenders: 8, Weight: 250, EIIndex: -0.3 + j(0.04), Isolated: math.NaN()}
			if weekend(d) {
				in.Messages, in.Scored, in.AfterHoursShare, in.Weight = 60, 55, 1, 40
			}
			if edit != nil {
				edit(&in)
			}
			out = append(out, in)
		}
	}
	return out
}

// tuesday is a working day 30 days before these tests were written.
var tuesday = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)

func rowOf(rows []store.TeamBelonging, team string, days int) (store.TeamBelonging, bool) {
	for _, r := range rows {
		if r.Team == team && r.WindowDays == days {
			return r, true
		}
	}
	return store.TeamBelonging{}, false
}

func TestBelongingDay(t *testing.T) {
	on := func(team string, day time.Time, f func(in *store.BelongingInput)) func(in *store.BelongingInput) {
		return func(in *store.BelongingInput) {
			if in.Team == team && in.Day.Equal(day) {
				f(in)
			}
		}
	}
	type want struct {
		row                      bool
		sentiment, inclusion, ld string // "down", "up", "steady", "none"
		moved                    []string
		notMoved                 []string
		text                     []string
	}
	for _, tc := range []struct {
		name string
		cfg  func(c *Config)
		day  time.Time
		edit func(in *store.BelongingInput)
		want want
	}{
		{name: "usual day", day: tuesday, want: want{row: true, sentiment: "steady", inclusion: "steady", ld: "steady",
			notMoved: []string{"sentiment", "inclusion", "load"}, text: []string{"No component moved by 2.0 SD or more", "Steady: sentiment"}}},
		{name: "sentiment drop", day: tuesday, edit: on("t3", tuesday, func(in *store.BelongingInput) { in.MeanCompound, in.NegativeShare = -0.1, 0.55 }),
			want: want{row: true, sentiment: "down", inclusion: "steady", ld: "steady", moved: []string{"sentiment"}, notMoved: []string{"inclusion", "load"},
				text: []string{"below its usual level", "Moved: sentiment -5.0 SD: mean sentiment -0.10, usual +0.26 (team -5.0 SD, organisation -5.0 SD) and negative share 55%, usual 14% (team +5.0 SD",
					"SD against the team's working days of the previous 4 weeks (team) and against the organisation's teams of the same day (organisation)."}}},
		{name: "silo", day: tuesday, edit: on("t3", tuesday, func(in *store.BelongingInput) { in.EIIndex = -1 }),
			want: want{row: true, sentiment: "steady", inclusion: "down", ld: "steady", moved: []string{"inclusion"}, notMoved: []string{"sentiment", "load"},
				text: []string{"Moved: inclusion -5.0 SD: E-I index -1.00, usual -0.3"}}},
		// The noise on a day's after-hours count is large at the defaults
		// (ε 0.5: standard deviation 170 messages): a rise from 10% to 40%
		// of 300 messages is within it, one to 90% of 600 is not.
		{name: "after hours within the noise", day: tuesday, edit: on("t3", tuesday, func(in *store.BelongingInput) { in.AfterHoursShare = 0.4 }),
			want: want{row: true, sentiment: "steady", inclusion: "steady", ld: "steady", notMoved: []string{"load"}}},
		{name: "after hours", day: tuesday, edit: on("t3", tuesday, func(in *store.BelongingInput) { in.AfterHoursShare, in.Messages = 0.9, 600 }),
			want: want{row: true, sentiment: "steady", inclusion: "steady", ld: "down", moved: []string{"load"}, text: []string{"Moved: load -2.8 SD: after-hours share 90%, usual 10% (team +2.8 SD"}}},
		{name: "better than usual", day: tuesday, edit: on("t3", tuesday, func(in *store.BelongingInput) { in.MeanCompound, in.NegativeShare = 0.5, 0.05 }),
			want: want{row: true, sentiment: "up", moved: []string{"sentiment"}, text: []string{"above its usual level"}}},
		{name: "too few scored: no sentiment", day: tuesday, edit: on("t3", tuesday, func(in *store.BelongingInput) { in.Scored = 30 }),
			want: want{row: true, sentiment: "none", inclusion: "steady", ld: "steady", text: []string{"Not scored (too few published figures): sentiment"}}},
		{name: "no network row: no inclusion", day: tuesday, edit: on("t3", tuesday, func(in *store.BelongingInput) {
			in.HasNetwork, in.EIIndex, in.Weight = false, math.NaN(), 0
		}), want: want{row: true, sentiment: "steady", inclusion: "none", ld: "steady", text: []string{"Not scored (too few published figures): inclusion"}}},
		{name: "nothing readable: no row", day: tuesday, edit: on("t3", tuesday, func(in *store.BelongingInput) {
			in.Scored, in.Messages, in.HasNetwork = 10, 10, false
		}), want: want{row: false}},
		{name: "inclusion weight 0", day: tuesday, cfg: func(c *Config) { c.Belonging.Weights.Inclusion = 0 },
			edit: on("t3", tuesday, func(in *store.BelongingInput) { in.EIIndex = -1 }),
			want: want{row: true, sentiment: "steady", inclusion: "none", ld: "steady", notMoved: []string{"inclusion"}}},
		{name: "no history: organisation only", day: tuesday, edit: func(in *store.BelongingInput) {
			if in.Team == "t3" && in.Day.Before(tuesday) {
				in.Scored, in.Messages, in.HasNetwork = 0, 0, false
			}
			if in.Team == "t3" && in.Day.Equal(tuesday) {
				in.EIIndex = -1
			}
		}, want: want{row: true, inclusion: "down", moved: []string{"inclusion"}, text: []string{"E-I index -1.00 (no baseline of the team's own yet, organisation -5.0 SD)"}}},
		{name: "own baseline only", day: tuesday, cfg: func(c *Config) { c.Belonging.OwnWeight = 1 },
			edit: on("t3", tuesday, func(in *store.BelongingInput) { in.EIIndex = -1 }),
			want: want{row: true, inclusion: "down", moved: []string{"inclusion"}}},
		{name: "weekend against weekends", day: tuesday.AddDate(0, 0, 4), // a Saturday: after-hours share 1 is usual
			want: want{row: true, ld: "steady", text: []string{"Sat 7 Nov 2026"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			rows, week := Belonging(cfg, tc.day, belongingOrg(tc.day, tc.edit))
			if !week.IsZero() {
				t.Fatalf("a week row on %s", tc.day.Weekday())
			}
			r, ok := rowOf(rows, "t3", 1)
			if ok != tc.want.row {
				t.Fatalf("row %v, want %v (%d rows)", ok, tc.want.row, len(rows))
			}
			if !ok {
				return
			}
			t.Logf("%s", r.Explanation)
			for name, c := range map[string]struct {
				v    float64
				want string
			}{"sentiment": {r.Sentiment, tc.want.sentiment}, "inclusion": {r.Inclusion, tc.want.inclusion}, "load": {r.Load, tc.want.ld}} {
				got := "steady"
				switch {
				case math.IsNaN(c.v):
					got = "none"
				case c.v <= -1:
					got = "down"
				case c.v >= 1:
					got = "up"
				case math.Abs(c.v) >= 0.9:
					got = "borderline"
				}
				if c.want != "" && got != c.want {
					t.Errorf("%s %.2f (%s), want %s", name, c.v, got, c.want)
				}
			}
			moved := r.Explanation
			if i := strings.Index(moved, " Steady:"); i >= 0 {
				moved = moved[:i]
			}
			for _, m := range tc.want.moved {
				if !strings.Contains(moved, "Moved: ") || !strings.Contains(moved, m+" ") {
					t.Errorf("explanation does not say %s moved: %q", m, r.Explanation)
				}
			}
			for _, m := range tc.want.notMoved {
				if strings.Contains(moved, "Moved: ") && strings.Contains(moved, m+" ") {
					t.Errorf("explanation says %s moved: %q", m, r.Explanation)
				}
			}
			for _, s := range tc.want.text {
				if !strings.Contains(r.Explanation, s) {
					t.Errorf("explanation lacks %q: %q", s, r.Explanation)
				}
			}
			if !strings.HasPrefix(r.Explanation, "t3 on ") {
				t.Errorf("explanation does not start with the team: %q", r.Explanation)
			}
			if want := indexOf(r.Score); r.Belonging != want || r.Belonging < 0 || r.Belonging > 100 {
				t.Errorf("belonging %v for score %v", r.Belonging, r.Score)
			}
			if tc.want.sentiment == "down" || tc.want.inclusion == "down" || tc.want.ld == "down" {
				if r.Score >= 0 || r.Belonging >= 50 {
					t.Errorf("a component fell but the index did not: score %.2f, belonging %.1f", r.Score, r.Belonging)
				}
			}
			if again := ExplainBelonging(cfg, r); again != r.Explanation {
				t.Errorf("explanation is not a function of the row:\n%q\n%q", r.Explanation, again)
			}
		})
	}
}

// The score is the weighted mean of the components, each the mean of its
// signed figure scores, each figure's score OwnWeight x own + the rest x
// organisation: checked by hand on one row.
func TestBelongingArithmetic(t *testing.T) {
	cfg := Defaults()
	day := tuesday
	rows, _ := Belonging(cfg, day, belongingOrg(day, func(in *store.BelongingInput) {
		if in.Team == "t2" && in.Day.Equal(day) {
			in.MeanCompound, in.NegativeShare, in.EIIndex, in.AfterHoursShare = 0.05, 0.3, -0.5, 0.2
		}
	}))
	r, ok := rowOf(rows, "t2", 1)
	if !ok {
		t.Fatal("no row of t2")
	}
	d := r.Drivers
	fig := func(key string) float64 {
		return 0.5*d[key+".team_z"] + 0.5*d[key+".org_z"]
	}
	sent := (fig("mean_compound") - fig("negative_share")) / 2
	incl := fig("ei_index")
	load := -fig("after_hours_share")
	for name, c := range map[string][2]float64{"sentiment": {r.Sentiment, sent}, "inclusion": {r.Inclusion, incl}, "load": {r.Load, load}} {
		if math.Abs(c[0]-c[1]) > 1e-12 {
			t.Errorf("%s %v, want %v", name, c[0], c[1])
		}
	}
	if want := 0.4*sent + 0.4*incl + 0.2*load; math.Abs(r.Score-want) > 1e-12 {
		t.Errorf("score %v, want %v", r.Score, want)
	}
	if _, ok := d["isolated_share"]; ok {
		t.Errorf("isolated share scored although isolated members are not published: %v", d)
	}
	for _, k := range []string{"mean_compound", "mean_compound.usual", "mean_compound.team_z", "mean_compound.org_z", "ei_index", "after_hours_share.usual"} {
		if _, ok := d[k]; !ok {
			t.Errorf("drivers lack %s: %v", k, d)
		}
	}
	if d["mean_compound"] != 0.05 {
		t.Errorf("drivers hold %v as the day's mean sentiment, want the published 0.05", d["mean_compound"])
	}
	// Isolated members, when published, join the inclusion component.
	rows, _ = Belonging(cfg, day, belongingOrg(day, func(in *store.BelongingInput) {
		in.Isolated = 0
		if in.Team == "t2" && in.Day.Equal(day) {
			in.Isolated = 4
		}
	}))
	r, _ = rowOf(rows, "t2", 1)
	if r.Drivers["isolated_share"] != 0.5 || r.Inclusion > -1 || !strings.Contains(r.Explanation, "share of isolated members 50%") {
		t.Errorf("4 of 8 isolated: drivers %v, inclusion %.2f, %q", r.Drivers, r.Inclusion, r.Explanation)
	}
}

// A Sunday closes the week: one row per team averaging its daily rows of
// Monday to Sunday, explained from the averages; no week row on other days
// or for a team with fewer than three daily rows.
func TestBelongingWeek(t *testing.T) {
	cfg := Defaults()
	sunday := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	monday := sunday.AddDate(0, 0, -6)
	in := belongingOrg(sunday, func(in *store.BelongingInput) {
		if in.Team == "t2" && !in.Day.Before(monday) && in.Day.Before(monday.AddDate(0, 0, 3)) {
			in.MeanCompound, in.NegativeShare = -0.2, 0.6 // Monday to Wednesday
		}
		if in.Team == "t5" && !in.Day.Before(monday) && in.Day.Weekday() != time.Monday && in.Day.Weekday() != time.Tuesday {
			in.Scored, in.Messages, in.HasNetwork = 0, 0, false // scored only on Monday and Tuesday
		}
	})
	rows, week := Belonging(cfg, sunday, in)
	if !week.Equal(monday) {
		t.Fatalf("week %v, want %v", week, monday)
	}
	w, ok := rowOf(rows, "t2", 7)
	if !ok {
		t.Fatal("no week row of t2")
	}
	var daily []store.TeamBelonging
	for d := monday; !d.After(sunday); d = d.AddDate(0, 0, 1) {
		if r, ok := rowOf(belongingDay(cfg.withDefaults(), noiseLevels(cfg.withDefaults().Privacy), d, indexInputs(in)), "t2", 1); ok {
			daily = append(daily, r)
		}
	}
	var b, s []float64
	for _, r := range daily {
		b, s = append(b, r.Belonging), append(s, r.Score)
	}
	if !w.WindowStart.Equal(monday) || w.Days != len(daily) || math.Abs(w.Belonging-mean(b)) > 1e-12 || math.Abs(w.Score-mean(s)) > 1e-12 {
		t.Errorf("week row %+v; want the mean of %d daily rows (%.2f)", w, len(daily), mean(b))
	}
	if w.Sentiment > -1 || !strings.Contains(w.Explanation, "t2, week of Mon 9 Nov 2026 (") || !strings.Contains(w.Explanation, "Moved: sentiment") ||
		!strings.Contains(w.Explanation, "on average") {
		t.Errorf("week of a three-day drop: sentiment %.2f, %q", w.Sentiment, w.Explanation)
	}
	t.Logf("%s", w.Explanation)
	if _, ok := rowOf(rows, "t5", 7); ok {
		t.Errorf("a week row of a team with two daily rows")
	}
	if r, ok := rowOf(rows, "t1", 1); !ok || !r.WindowStart.Equal(sunday) {
		t.Errorf("no daily row of the Sunday itself")
	}
	for _, r := range rows {
		if r.WindowDays == 1 && !r.WindowStart.Equal(sunday) {
			t.Errorf("a daily row of %s written on Sunday", r.WindowStart)
		}
	}
	if _, week := Belonging(cfg, sunday.AddDate(0, 0, -1), in); !week.IsZero() {
		t.Error("a week row on a Saturday")
	}
}

// The rows are a function of the published inputs: their order does not
// matter, inputs outside BelongingSpan are ignored, and a team without a
// published row on the day has no row.
func TestBelongingIsAFunctionOfTheInputs(t *testing.T) {
	cfg := Defaults()
	sunday := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	in := belongingOrg(sunday, nil)
	from, to := BelongingSpan(cfg, sunday)
	var span []store.BelongingInput
	for _, x := range in {
		if !x.Day.Before(from) && x.Day.Before(to) {
			span = append(span, x)
		}
	}
	if len(span) == len(in) {
		t.Fatal("premise: some inputs lie outside the span")
	}
	rev := append([]store.BelongingInput(nil), span...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	a, _ := Belonging(cfg, sunday, in)
	b, _ := Belonging(cfg, sunday, rev)
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("%d rows vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Team != b[i].Team || a[i].Explanation != b[i].Explanation || a[i].Score != b[i].Score || len(a[i].Drivers) != len(b[i].Drivers) {
			t.Errorf("row %d differs:\n%+v\n%+v", i, a[i], b[i])
		}
	}
	var without []store.BelongingInput
	for _, x := range span {
		if !(x.Team == "t4" && x.Day.Equal(sunday)) {
			without = append(without, x)
		}
	}
	rows, _ := Belonging(cfg, sunday, without)
	if _, ok := rowOf(rows, "t4", 1); ok {
		t.Error("a daily row for a team-day without a published row")
	}
}

func TestBelongingConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *BelongingConfig)
		bad  string
	}{
		{name: "defaults"},
		{name: "negative weight", edit: func(c *BelongingConfig) { c.Weights.Load = -1 }, bad: "weights"},
		{name: "all weights 0 take the defaults", edit: func(c *BelongingConfig) { c.Weights = BelongingWeights{} }},
		{name: "short baseline", edit: func(c *BelongingConfig) { c.BaselineDays = 3 }, bad: "baseline days"},
		{name: "min history above baseline", edit: func(c *BelongingConfig) { c.MinHistory = 40 }, bad: "min history"},
		{name: "own weight", edit: func(c *BelongingConfig) { c.OwnWeight = 1.5 }, bad: "own weight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			if tc.edit != nil {
				tc.edit(&cfg.Belonging)
			}
			err := cfg.Validate()
			if tc.bad == "" && err != nil || tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)) {
				t.Fatalf("Validate: %v, want %q", err, tc.bad)
			}
		})
	}
	cfg := Defaults()
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"--belonging-weight-load=0", "--belonging-weight-inclusion=0.6", "--belonging-baseline-days=21", "--belonging-own-weight=0"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if b := cfg.Belonging; b.Weights != (BelongingWeights{Sentiment: 0.4, Inclusion: 0.6}) || b.BaselineDays != 21 || b.OwnWeight != 0 || b.MinHistory != 5 {
		t.Errorf("flags gave %+v", b)
	}
}
