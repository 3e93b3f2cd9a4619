package analyze

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"commpulse/internal/synth"
	"commpulse/pipeline/review"
)

// recordingAlerter keeps every alert published.
type recordingAlerter struct {
	mu     sync.Mutex
	alerts []Alert
}

func (r *recordingAlerter) Publish(_ context.Context, as []Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, as...)
	return nil
}

func (r *recordingAlerter) since(n int) []Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Alert(nil), r.alerts[n:]...)
}

// A dismissal suppresses the repeats: a planted three-day sentiment drop
// alerts on its first day; a reviewer dismisses that alert (expected: a
// reorg); the analyzer then finds the drop again on the next days and
// stores those anomalies, but alerts none of the same team and metric,
// while everything else it finds is still alerted.
func TestDismissalSuppressesRepeatAlerts(t *testing.T) {
	e := newCH(t)
	ctx := context.Background()
	first := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	scen, err := synth.ParseScenarios("drop:team-2:2026-11-10:3d")
	if err != nil {
		t.Fatal(err)
	}
	org := synth.MustNew(synth.Config{Seed: 11, Teams: 3, Start: e2eStart, Days: 28, Scenarios: scen})
	msgs := orgMessages(org)
	for i := 0; i < len(msgs); i += 50_000 {
		if err := e.st.InsertMessages(ctx, msgs[i:min(i+50_000, len(msgs))]); err != nil {
			t.Fatal(err)
		}
	}

	// Up to the drop's first day.
	clock := &fixedClock{t: first.Add(26 * time.Hour)}
	al := &recordingAlerter{}
	a, _ := newAnalyzer(t, e, Config{Now: clock.Now, Logger: testLogger()}, al)
	if _, err := a.Step(ctx); err != nil {
		t.Fatal(err)
	}
	var dismissed *Alert
	for _, x := range al.since(0) {
		if x.Team == "team-2" && x.Granularity == Day && x.WindowStart.Equal(first) && x.Direction == "down" {
			dismissed = &x
			break
		}
	}
	if dismissed == nil {
		t.Fatalf("no alert of team-2's drop on %s among %d alerts", first.Format(time.DateOnly), len(al.since(0)))
	}
	svc := review.NewService(e.st, nil, nil)
	if _, err := svc.Set(ctx, dismissed.Key, review.Acknowledged, review.NoReason, review.CLIReviewer); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Set(ctx, dismissed.Key, review.Dismissed, review.Expected, review.CLIReviewer); err != nil {
		t.Fatal(err)
	}
	t.Logf("dismissed %s (%s)", dismissed.Key, dismissed.Explanation)

	// The rest of the history.
	prior := map[string]bool{}
	for _, x := range readAllAnomalies(t, e) {
		prior[x.Key()] = true
	}
	n0 := len(al.since(0))
	clock.Set(org.Config().End().Add(2 * time.Hour))
	if _, err := a.Step(ctx); err != nil {
		t.Fatal(err)
	}
	after := al.since(n0)
	rule := review.Suppression{Days: review.DefaultSuppressDays}
	d, err := e.st.StandingDismissals(ctx, first, first.Add(time.Hour))
	if err != nil || len(d) != 1 {
		t.Fatalf("standing dismissals %v, %v", d, err)
	}
	for _, x := range after {
		if rule.Covers(d[0], x.Anomaly) {
			t.Errorf("alerted %s although %s is dismissed", x.Key, dismissed.Key)
		}
	}
	all := readAllAnomalies(t, e)
	// A drift's later days continue it and are not alerted whatever the
	// reviews (continuingDrifts); the dismissal holds back the other
	// repeats.
	quiet := continuedDrifts(all)
	var repeats, suppressed []string
	for _, x := range all {
		if rule.Covers(d[0], x) && x.Key() != dismissed.Key {
			repeats = append(repeats, x.Key())
			if !quiet[x.Key()] {
				suppressed = append(suppressed, x.Key())
			}
		}
	}
	if len(repeats) == 0 {
		t.Fatalf("the drop was not found again after its first day: nothing to suppress")
	}
	t.Logf("stored but not alerted: %v (held back by the dismissal: %v)", repeats, suppressed)
	if got := testutil.ToFloat64(a.m.AlertsSuppressed); got != float64(len(suppressed)) {
		t.Errorf("alerts_suppressed_total %v; want the %d stored repeats that do not continue a drift", got, len(suppressed))
	}
	// Everything new but the repeats and the drift continuations was
	// alerted.
	newly, notAlerted := 0, 0
	for _, x := range all {
		if k := x.Key(); !prior[k] {
			newly++
			if quiet[k] || slices.Contains(repeats, k) {
				notAlerted++
			}
		}
	}
	if len(after)+notAlerted != newly {
		t.Errorf("%d anomalies stored by the second pass, %d alerted + %d not (repeats or drift continuations)", newly, len(after), notAlerted)
	}
	if len(after) == 0 {
		t.Log("nothing else to alert in the second pass")
	}
}

// A dismissed early warning suppresses its repeat like any anomaly: a
// reviewer dismisses team-x's belonging warning of day D; two days later
// (not a continuation: nothing was warned on D+1) the same warning is
// stored but not alerted, while team-x's sentiment warning of that day is
// alerted. A warning that continues the day before's (publish's quiet
// keys) is stored and not alerted either, without any review.
func TestDismissedWarningSuppressesItsRepeat(t *testing.T) {
	e := newCH(t)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -10)
	warning := func(d time.Time, metric string) Anomaly {
		return Anomaly{WindowStart: d, Granularity: Day, Team: "team-x", Metric: metric, Value: 30, Expected: 40, Low: 22, High: 38,
			Score: 0.5, Severity: Warning, Direction: "down", Detector: DetectorForecast, Explanation: "Early warning: team-x's ..."}
	}
	al := &recordingAlerter{}
	a, _ := newAnalyzer(t, e, Config{Logger: testLogger()}, al)
	first := warning(day, MetricForecastBelonging)
	if n, err := a.publish(ctx, Day, day, day.AddDate(0, 0, 1), []Anomaly{first}, nil, day.Add(25*time.Hour)); err != nil || n != 1 {
		t.Fatalf("first warning: %d alerted, %v", n, err)
	}
	svc := review.NewService(e.st, nil, nil)
	for _, s := range []struct {
		st review.State
		r  review.Reason
	}{{review.Acknowledged, review.NoReason}, {review.Dismissed, review.FalsePositive}} {
		if _, err := svc.Set(ctx, first.Key(), s.st, s.r, review.CLIReviewer); err != nil {
			t.Fatal(err)
		}
	}
	d2 := day.AddDate(0, 0, 2)
	repeat, other := warning(d2, MetricForecastBelonging), warning(d2, MetricForecastMeanCompound)
	n0 := len(al.since(0))
	if _, err := a.publish(ctx, Day, d2, d2.AddDate(0, 0, 1), []Anomaly{repeat, other}, nil, d2.Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := al.since(n0)
	if len(got) != 1 || got[0].Key != other.Key() {
		t.Errorf("alerted %v; want only %s (the repeat of the dismissed %s is suppressed)", got, other.Key(), first.Key())
	}
	ws, err := e.st.EarlyWarnings(ctx, d2, d2.AddDate(0, 0, 1))
	if err != nil || len(ws) != 2 {
		t.Errorf("stored warnings of D+2: %v, %v; want both", ws, err)
	}
	// A continuation of D+2's sentiment warning on D+3: stored, not alerted.
	d3 := day.AddDate(0, 0, 3)
	cont := warning(d3, MetricForecastMeanCompound)
	n0 = len(al.since(0))
	if _, err := a.publish(ctx, Day, d3, d3.AddDate(0, 0, 1), []Anomaly{cont}, map[string]bool{cont.Key(): true}, d3.Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := al.since(n0); len(got) != 0 {
		t.Errorf("a continuing warning was alerted: %v", got)
	}
	if ws, err := e.st.EarlyWarnings(ctx, d3, d3.AddDate(0, 0, 1)); err != nil || len(ws) != 1 {
		t.Errorf("stored warnings of D+3: %v, %v; want the continuation", ws, err)
	}
}
