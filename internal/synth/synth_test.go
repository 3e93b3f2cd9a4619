package synth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/event"
)

var (
	personRE = regexp.MustCompile(`^p_[0-9a-f]{16}$`)
	threadRE = regexp.MustCompile(`^th_[0-9a-f]{16}$`)
	ulidRE   = regexp.MustCompile(`^[0-7][0-9A-HJKMNP-TV-Z]{25}$`)
	anyIDRE  = regexp.MustCompile(`p_[0-9a-f]{16}|th_[0-9a-f]{16}`)
)

// checkContract is a strict, test-local reading of contract v1. It is
// deliberately independent of the ingest decoder so that the generator's
// notion of "valid" and "malformed" can be checked on its own.
func checkContract(raw []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	for _, f := range RequiredFields {
		if _, ok := m[f]; !ok {
			return fmt.Errorf("missing %s", f)
		}
	}
	var ev struct {
		Schema     int      `json:"schema"`
		EventID    string   `json:"event_id"`
		OccurredAt string   `json:"occurred_at"`
		Channel    string   `json:"channel"`
		Sender     string   `json:"sender"`
		Recipients []string `json:"recipients"`
		ThreadID   string   `json:"thread_id"`
		Consent    bool     `json:"consent"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("wrong type: %w", err)
	}
	if ev.Schema != event.SchemaVersion {
		return fmt.Errorf("schema %d", ev.Schema)
	}
	if _, err := time.Parse(time.RFC3339, ev.OccurredAt); err != nil || !strings.HasSuffix(ev.OccurredAt, "Z") {
		return fmt.Errorf("occurred_at %q", ev.OccurredAt)
	}
	switch ev.Channel {
	case event.ChannelChat, event.ChannelEmail, event.ChannelMeeting:
	default:
		return fmt.Errorf("channel %q", ev.Channel)
	}
	if !personRE.MatchString(ev.Sender) {
		return fmt.Errorf("sender %q", ev.Sender)
	}
	for _, rc := range ev.Recipients {
		if !personRE.MatchString(rc) {
			return fmt.Errorf("recipient %q", rc)
		}
	}
	if !ulidRE.MatchString(ev.EventID) {
		return fmt.Errorf("event_id %q", ev.EventID)
	}
	return nil
}

func collect(t testing.TB, cfg Config) []Generated {
	t.Helper()
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []Generated
	for g := range o.Events() {
		out = append(out, g)
	}
	return out
}

func dump(gs []Generated) []byte {
	var b bytes.Buffer
	for _, g := range gs {
		b.Write(g.Key())
		b.WriteByte('\t')
		b.Write(g.Value())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func TestDeterministic(t *testing.T) {
	scen, err := ParseScenarios("drop:team-2:2026-11-03:1d,optout:2026-11-04,isolated:team-1:2026-11-03")
	if err != nil {
		t.Fatal(err)
	}
	base := Config{Seed: 42, Days: 4, MalformedRate: 0.02, NotOptedInRate: 0.02, Scenarios: scen}
	a, b := dump(collect(t, base)), dump(collect(t, base))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("same config gave different output (%d vs %d bytes)", len(a), len(b))
	}
	other := base
	other.Seed = 43
	if bytes.Equal(a, dump(collect(t, other))) {
		t.Fatal("different seeds gave identical output")
	}
	// Directory, consents and truth are part of the output too.
	o1, o2 := MustNew(base), MustNew(base)
	t1, _ := MarshalTruth(o1.Truth())
	t2, _ := MarshalTruth(o2.Truth())
	if !bytes.Equal(t1, t2) || fmt.Sprint(o1.Directory(), o1.Consents()) != fmt.Sprint(o2.Directory(), o2.Consents()) {
		t.Fatal("directory, consents or truth differ between identical configs")
	}
}

func TestMarshal(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 15, 2, 120_999_000, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		ev   event.Event
		want string
	}{
		{
			name: "design example",
			ev: event.Event{Schema: 1, EventID: "01JD3Q6R8W2K9V7T5N4M3B2A1Z", OccurredAt: at, Channel: "chat",
				Sender: "p_5f2c9a1e0b7d4c38", Recipients: []string{"p_0a9b8c7d6e5f4a3b", "p_11aa22bb33cc44dd"},
				ThreadID: "th_7d1e", Consent: true, Lang: "en", Text: "Great job on the release, thanks all!"},
			want: `{"schema":1,"event_id":"01JD3Q6R8W2K9V7T5N4M3B2A1Z","occurred_at":"2026-11-23T08:15:02.120Z","channel":"chat","sender":"p_5f2c9a1e0b7d4c38","recipients":["p_0a9b8c7d6e5f4a3b","p_11aa22bb33cc44dd"],"thread_id":"th_7d1e","consent":true,"lang":"en","text":"Great job on the release, thanks all!"}`,
		},
		{
			name: "optional fields omitted, whole second",
			ev:   event.Event{Schema: 1, EventID: "X", OccurredAt: at.Truncate(time.Second), Channel: "meeting", Sender: "p_0000000000000001"},
			want: `{"schema":1,"event_id":"X","occurred_at":"2026-11-23T08:15:02.000Z","channel":"meeting","sender":"p_0000000000000001","consent":false}`,
		},
		{
			name: "escaping",
			ev:   event.Event{Schema: 1, EventID: "X", OccurredAt: at, Channel: "chat", Sender: "p_0000000000000001", Text: "a \"q\" \\ \n\t\x01 <b>&é\u2028\xff"},
			want: `{"schema":1,"event_id":"X","occurred_at":"2026-11-23T08:15:02.120Z","channel":"chat","sender":"p_0000000000000001","consent":false,"text":"a \"q\" \\ \n\t\u0001 \u003cb\u003e\u0026é\u2028\ufffd"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Marshal(tt.ev)
			if string(got) != tt.want {
				t.Fatalf("Marshal:\n got %s\nwant %s", got, tt.want)
			}
			// encoding/json must read it back to the same event (at ms precision).
			var back event.Event
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			want := tt.ev
			want.OccurredAt = want.OccurredAt.UTC().Truncate(time.Millisecond)
			want.Text = strings.ToValidUTF8(want.Text, "\uFFFD")
			if fmt.Sprintf("%#v", back) != fmt.Sprintf("%#v", want) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", back, want)
			}
		})
	}
}

func TestEventsContract(t *testing.T) {
	cfg := Config{Seed: 7, Days: 7, MalformedRate: 0.05, NotOptedInRate: 0.03}
	gs := collect(t, cfg)
	o := MustNew(cfg)
	dir := map[string]string{}
	for _, d := range o.Directory() {
		dir[d.Person] = d.Team
	}
	counts := map[Kind]int{}
	reasons := map[MalformedReason]int{}
	ids := map[string]bool{}
	var prev time.Time
	for i, g := range gs {
		counts[g.Kind]++
		ev := g.Event
		if ev.OccurredAt.Before(prev) {
			t.Fatalf("event %d at %s before previous %s", i, ev.OccurredAt, prev)
		}
		prev = ev.OccurredAt
		if ids[ev.EventID] {
			t.Fatalf("duplicate event id %s", ev.EventID)
		}
		ids[ev.EventID] = true
		if _, ok := dir[ev.Sender]; !ok {
			t.Fatalf("sender %s not in directory", ev.Sender)
		}
		if string(g.Key()) != ev.Sender {
			t.Fatalf("key %q, want sender %q", g.Key(), ev.Sender)
		}
		if ev.ThreadID != "" && !threadRE.MatchString(ev.ThreadID) {
			t.Fatalf("thread id %q", ev.ThreadID)
		}
		if ev.Channel == event.ChannelMeeting && ev.ThreadID != "" {
			t.Fatalf("meeting with thread id: %+v", ev)
		}
		err := checkContract(g.Value())
		switch g.Kind {
		case Malformed:
			reasons[g.Reason]++
			if err == nil {
				t.Fatalf("malformed (%s/%s) passes the contract: %s", g.Reason, g.Detail, g.Raw)
			}
		default:
			if err != nil {
				t.Fatalf("%s event breaks the contract: %v: %s", g.Kind, err, g.Value())
			}
			if g.Raw != nil {
				t.Fatalf("%s event has raw bytes", g.Kind)
			}
			if got, want := ev.Consent, g.Kind != NotOptedIn; got != want {
				t.Fatalf("%s event has consent=%v", g.Kind, got)
			}
		}
	}
	n := len(gs)
	t.Logf("%d events: %v, malformed reasons %v", n, counts, reasons)
	// Rates are random draws: allow 4 standard deviations.
	for kind, rate := range map[Kind]float64{Malformed: cfg.MalformedRate, NotOptedIn: cfg.NotOptedInRate} {
		if d := float64(counts[kind]) - rate*float64(n); d*d > 16*rate*float64(n) {
			t.Errorf("%s: %d of %d events, want about %.0f", kind, counts[kind], n, rate*float64(n))
		}
	}
	for _, r := range MalformedReasons {
		if reasons[r] == 0 {
			t.Errorf("malformed reason %s never generated", r)
		}
	}
}

func TestLimit(t *testing.T) {
	for _, limit := range []int{1, 17, 1000} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			full := collect(t, Config{Seed: 3, Days: 3})
			gs := collect(t, Config{Seed: 3, Days: 3, Limit: limit})
			if len(gs) != limit {
				t.Fatalf("got %d events, want %d", len(gs), limit)
			}
			// A limit cuts the stream; it does not change it.
			if !bytes.Equal(dump(gs), dump(full[:limit])) {
				t.Fatal("limited stream is not a prefix of the full stream")
			}
		})
	}
	// Breaking out of the loop early must be honoured.
	n := 0
	for range MustNew(Config{Seed: 3, Days: 3}).Events() {
		n++
		if n == 5 {
			break
		}
	}
	if n != 5 {
		t.Fatalf("iterated %d events after break at 5", n)
	}
}

func TestIdentifiers(t *testing.T) {
	o := MustNew(Config{Seed: 11, Teams: 20})
	seen := map[string]bool{}
	for _, d := range o.Directory() {
		if !personRE.MatchString(d.Person) {
			t.Fatalf("person id %q", d.Person)
		}
		if seen[d.Person] {
			t.Fatalf("duplicate person id %q", d.Person)
		}
		seen[d.Person] = true
		if !d.ValidFrom.Equal(DefaultStart) {
			t.Fatalf("valid_from %s, want %s", d.ValidFrom, DefaultStart)
		}
	}
	other := MustNew(Config{Seed: 12, Teams: 20})
	for _, d := range other.Directory() {
		if seen[d.Person] {
			t.Fatalf("person id %s shared between seeds", d.Person)
		}
	}
	k := newKeys(11)
	at := DefaultStart
	if a, b := k.eventID(1, at), k.eventID(2, at); a == b || !ulidRE.MatchString(a) || a[:10] != b[:10] {
		t.Fatalf("event ids %s, %s: want distinct ULIDs with the same time prefix", a, b)
	}
	if a, b := k.eventID(1, at), k.eventID(1, at.Add(time.Millisecond)); a[:10] >= b[:10] {
		t.Fatalf("event id time prefix does not increase: %s, %s", a, b)
	}
}

func TestTextsCarryNoIdentifiers(t *testing.T) {
	gs := collect(t, Config{Seed: 5, Days: 7})
	withText := 0
	texts := map[string]int{}
	for _, g := range gs {
		txt := g.Event.Text
		if txt == "" {
			continue
		}
		withText++
		texts[txt]++
		if anyIDRE.MatchString(txt) || strings.Contains(txt, g.Event.EventID) || strings.Contains(txt, "@") {
			t.Fatalf("text carries an identifier: %q", txt)
		}
	}
	share := 1 - float64(withText)/float64(len(gs))
	if share < 0.07 || share > 0.13 {
		t.Errorf("share of events without text %.3f, want about 0.10", share)
	}
	u := float64(len(texts)) / float64(withText)
	t.Logf("%d texts, %.0f%% distinct", withText, 100*u)
	if u < 0.7 {
		t.Errorf("only %.0f%% of texts are distinct", 100*u)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" means valid
	}{
		{"defaults", Config{}, ""},
		{"team size inverted", Config{TeamSizeMin: 9, TeamSizeMax: 4}, "team size max"},
		{"tiny team", Config{TeamSizeMin: 1, TeamSizeMax: 3}, "team size min"},
		{"rates over one", Config{MalformedRate: 0.6, NotOptedInRate: 0.6}, "sum <= 1"},
		{"negative days", Config{Days: -1}, "days"},
		{"bad hours", Config{WorkStartHour: 18, WorkEndHour: 9}, "working hours"},
		{"unknown team", Config{Scenarios: []Scenario{{Kind: Silo, Team: "team-99", Start: DefaultStart}}}, "unknown team"},
		{"before start", Config{Scenarios: []Scenario{{Kind: Silo, Team: "team-1", Start: DefaultStart.Add(-time.Hour)}}}, "outside"},
		{"unknown kind", Config{Scenarios: []Scenario{{Kind: "meltdown", Team: "team-1", Start: DefaultStart}}}, "unknown kind"},
		{"unknown person", Config{Scenarios: []Scenario{{Kind: OptOut, Person: "p_0000000000000000", Start: DefaultStart}}}, "unknown person"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	// Defaults must not write through to the caller's scenarios.
	sc := []Scenario{{Kind: SentimentDrop, Team: "team-1", Start: DefaultStart.Add(24 * time.Hour)}}
	MustNew(Config{Scenarios: sc})
	if !sc[0].End.IsZero() {
		t.Fatal("New modified the caller's scenario slice")
	}
}

func TestParseScenarios(t *testing.T) {
	day := func(d int) time.Time { return DefaultStart.AddDate(0, 0, d) }
	tests := []struct {
		spec    string
		want    []Scenario
		wantErr string
	}{
		{spec: "", want: nil},
		{spec: "drop:team-3:2026-11-10:3d", want: []Scenario{{Kind: SentimentDrop, Team: "team-3", Start: day(8), End: day(11)}}},
		{spec: "spike:team-5:2026-11-12T10:00:4h", want: []Scenario{{Kind: VolumeSpike, Team: "team-5", Start: day(10).Add(10 * time.Hour), End: day(10).Add(14 * time.Hour)}}},
		{spec: "silo:team-2:2026-11-15", want: []Scenario{{Kind: Silo, Team: "team-2", Start: day(13)}}},
		{spec: "isolated:team-4:2026-11-09T09:30", want: []Scenario{{Kind: Isolated, Team: "team-4", Start: day(7).Add(9*time.Hour + 30*time.Minute)}}},
		{spec: "decline:team-6:2026-11-05:1d12h", want: []Scenario{{Kind: SlowDecline, Team: "team-6", Start: day(3), End: day(4).Add(12 * time.Hour)}}},
		{spec: "optout:2026-11-08", want: []Scenario{{Kind: OptOut, Start: day(6)}}},
		{spec: "optout:2026-11-08T10:00", want: []Scenario{{Kind: OptOut, Start: day(6).Add(10 * time.Hour)}}},
		{spec: " optout:team-1:2026-11-08 , silo:team-2:2026-11-03T00:00:00Z", want: []Scenario{
			{Kind: OptOut, Team: "team-1", Start: day(6)}, {Kind: Silo, Team: "team-2", Start: day(1)}}},
		{spec: "meltdown:team-1:2026-11-08", wantErr: "unknown kind"},
		{spec: "drop:2026-11-08", wantErr: "TEAM"},
		{spec: "drop:team-1:tomorrow", wantErr: "bad start"},
		{spec: "drop:team-1:2026-11-08:xd", wantErr: "bad length"},
		{spec: "optout:2026-11-08:1d", wantErr: "no length"},
		{spec: "drop", wantErr: "KIND:TEAM"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseScenarios(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMalformedIsAlwaysRejected(t *testing.T) {
	// Every reason, many draws: none may accidentally produce a valid event.
	cfg := Config{Seed: 9, Days: 2, MalformedRate: 1}
	for _, g := range collect(t, cfg) {
		if g.Kind != Malformed {
			t.Fatalf("kind %s with malformed rate 1", g.Kind)
		}
		if err := checkContract(g.Raw); err == nil {
			t.Fatalf("%s/%s accepted: %s", g.Reason, g.Detail, g.Raw)
		}
		if g.Reason == ReasonMissingField && bytes.Contains(g.Raw, []byte(`"`+g.Detail+`":`)) {
			t.Fatalf("missing %s, but present: %s", g.Detail, g.Raw)
		}
	}
	if err := checkContract(nil); err == nil {
		t.Fatal(errors.New("checkContract accepts empty input"))
	}
}

func TestEdgeConfigs(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"one team of two, member isolated", Config{Teams: 1, TeamSizeMin: 2, TeamSizeMax: 2, Days: 2,
			Scenarios: []Scenario{{Kind: Isolated, Team: "team-1", Start: DefaultStart.Add(24 * time.Hour)}}}},
		{"every team siloed", Config{Teams: 2, Days: 2, Scenarios: []Scenario{
			{Kind: Silo, Team: "team-1", Start: DefaultStart}, {Kind: Silo, Team: "team-2", Start: DefaultStart}}}},
		{"all malformed and no text", Config{Teams: 2, Days: 1, MalformedRate: 1, NoTextRate: -1}},
		{"round the clock, no weekends off", Config{Teams: 2, Days: 7, WorkStartHour: 0, WorkEndHour: 24, WeekendFactor: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gs := collect(t, tt.cfg)
			if len(gs) == 0 {
				t.Fatal("no events")
			}
			for _, g := range gs {
				if g.Kind != Malformed {
					if err := checkContract(g.Value()); err != nil {
						t.Fatalf("%v: %s", err, g.Value())
					}
					if len(g.Event.Recipients) == 0 {
						t.Fatalf("event without recipients: %s", g.Value())
					}
				}
			}
		})
	}
}
