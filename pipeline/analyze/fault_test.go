package analyze

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"commpulse/network"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

var errInjected = errors.New("injected store fault")

// faultyStore is the real store with one of its methods failing once, on
// its first call: a ClickHouse outage in the middle of a window, between
// two of its writes. Only the methods a test may name are wrapped.
type faultyStore struct {
	Store
	fail   string
	after  int // calls of fail that succeed before the one that fails
	calls  int
	failed bool
}

func (f *faultyStore) trip(method string) error {
	if method != f.fail || f.failed {
		return nil
	}
	if f.calls++; f.calls > f.after {
		f.failed = true
		return errInjected
	}
	return nil
}

func (f *faultyStore) DayCells(ctx context.Context, from, to time.Time, capV, capS, capT float64, ws, we int) ([]publish.DayCell, error) {
	if err := f.trip("DayCells"); err != nil {
		return nil, err
	}
	return f.Store.DayCells(ctx, from, to, capV, capS, capT, ws, we)
}

func (f *faultyStore) WriteTeamStats(ctx context.Context, g Granularity, from, to time.Time, rows []TeamStats, k int, now time.Time) error {
	if err := f.trip("WriteTeamStats"); err != nil {
		return err
	}
	return f.Store.WriteTeamStats(ctx, g, from, to, rows, k, now)
}

func (f *faultyStore) WriteTeamThemes(ctx context.Context, from, to time.Time, rows []store.TeamTheme, k int, now time.Time) error {
	if err := f.trip("WriteTeamThemes"); err != nil {
		return err
	}
	return f.Store.WriteTeamThemes(ctx, from, to, rows, k, now)
}

func (f *faultyStore) WriteNetwork(ctx context.Context, start time.Time, days int, res *network.Result,
	teams []publish.NetRelease, graph store.GraphRelease, k int, eps float64, now time.Time) error {
	if err := f.trip("WriteNetwork"); err != nil {
		return err
	}
	return f.Store.WriteNetwork(ctx, start, days, res, teams, graph, k, eps, now)
}

func (f *faultyStore) WriteAnomalies(ctx context.Context, g Granularity, from, to time.Time, as []Anomaly) error {
	if err := f.trip("WriteAnomalies"); err != nil {
		return err
	}
	return f.Store.WriteAnomalies(ctx, g, from, to, as)
}

func (f *faultyStore) MarkDone(ctx context.Context, ws []store.WindowDone, now time.Time) error {
	if err := f.trip("MarkDone"); err != nil {
		return err
	}
	return f.Store.MarkDone(ctx, ws, now)
}

// published dumps what the analyzer released, without the computed_at
// columns: two runs that published the same figures dump the same text.
func published(t *testing.T, e *chEnv) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT toString(tuple(window_start, granularity, team, messages, active_members, scored_messages, mean_compound,
			negative_share, positive_share, after_hours_share, k_applied, epsilon)) FROM team_stats FINAL ORDER BY ALL`,
		`SELECT toString(tuple(window_start, team, theme, messages, k_applied, epsilon)) FROM team_themes FINAL ORDER BY ALL`,
		`SELECT toString(tuple(window_start, window_days, team, members_active, weight, external_share, ei_index,
			isolated_members, k_applied, epsilon)) FROM team_network FINAL ORDER BY ALL`,
		`SELECT toString(tuple(window_start, window_days, nodes, modularity, formal_modularity)) FROM graph_metrics FINAL ORDER BY ALL`,
		`SELECT toString(tuple(window_start, window_days, count())) FROM edges FINAL GROUP BY window_start, window_days ORDER BY ALL`,
		`SELECT toString(tuple(window_start, granularity, team, metric, value, score)) FROM anomalies FINAL ORDER BY ALL`,
		`SELECT toString(tuple(granularity, window_start, generation, teams, suppressed, anomalies)) FROM analyzer_windows FINAL ORDER BY ALL`,
	} {
		rows, err := e.st.Conn().Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(s + "\n")
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestStoreFaultRetriesTheWindow fails one store call in the middle of a
// pass. The Step reports it; the window it interrupted is not marked done,
// so the next Step redoes it as the same generation: the tables end up
// exactly as after a pass that never failed (same noise, no duplicate, no
// window skipped).
func TestStoreFaultRetriesTheWindow(t *testing.T) {
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // Monday
	to := from.Add(48 * time.Hour)
	msgs := smallOrg(from, to, 11)
	clock := &fixedClock{t: to.Add(65 * time.Minute)}
	run := func(t *testing.T, fail string) (*chEnv, error, error) {
		e := newCH(t)
		if err := e.st.InsertMessages(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		fs := &faultyStore{Store: e.st, fail: fail}
		cfg := Config{Now: clock.Now, Privacy: publish.Policy{Key: testNoiseKey}}
		a, err := New(cfg, fs, nil, nilRegistry{})
		if err != nil {
			t.Fatal(err)
		}
		_, first := a.Step(context.Background())
		_, second := a.Step(context.Background())
		if fail != "" && !fs.failed {
			t.Fatalf("%s was never called", fail)
		}
		return e, first, second
	}
	clean, err1, err2 := run(t, "")
	if err1 != nil || err2 != nil {
		t.Fatalf("clean run: %v, %v", err1, err2)
	}
	want := published(t, clean)
	if !strings.Contains(want, "'alpha'") || !strings.Contains(want, "'day',") {
		t.Fatalf("the clean run published no day row of alpha:\n%s", want)
	}
	if !strings.Contains(want, "'workload'") {
		t.Fatalf("the clean run published no theme row of alpha:\n%s", want)
	}
	for _, method := range []string{"DayCells", "WriteTeamStats", "WriteTeamThemes", "WriteNetwork", "WriteAnomalies", "MarkDone"} {
		t.Run(method, func(t *testing.T) {
			e, first, second := run(t, method)
			if !errors.Is(first, errInjected) {
				t.Fatalf("first Step: %v, want the injected fault", first)
			}
			if second != nil {
				t.Fatalf("second Step: %v", second)
			}
			if got := published(t, e); got != want {
				t.Errorf("after a fault in %s and a retry the tables differ from a clean run:\n%s\nwant\n%s", method, got, want)
			}
		})
	}
}

// TestRerunResumesAtTheFailedWindow: a re-run (--since) that fails on its
// second day window goes on from that window at the next Step, not from
// Since again: the first day, released already by the re-run, is not
// released a third time (analyzer_windows.generation counts releases).
func TestRerunResumesAtTheFailedWindow(t *testing.T) {
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // Monday
	to := from.Add(72 * time.Hour)
	e := newCH(t)
	if err := e.st.InsertMessages(context.Background(), smallOrg(from, to, 5)); err != nil {
		t.Fatal(err)
	}
	clock := &fixedClock{t: to.Add(65 * time.Minute)}
	cfg := Config{Now: clock.Now, Privacy: publish.Policy{Key: testNoiseKey}}
	first, err := New(cfg, e.st, nil, nilRegistry{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.Since = from
	fs := &faultyStore{Store: e.st, fail: "WriteNetwork", after: 1}
	rerun, err := New(cfg, fs, nil, nilRegistry{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rerun.Step(context.Background()); !errors.Is(err, errInjected) {
		t.Fatalf("first Step of the re-run: %v, want the injected fault", err)
	}
	if _, err := rerun.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := e.st.Conn().Query(context.Background(), `SELECT toString(window_start), generation FROM analyzer_windows FINAL
		WHERE granularity = 'day' ORDER BY window_start`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var (
			w   string
			gen uint32
		)
		if err := rows.Scan(&w, &gen); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s gen %d", w[:10], gen))
	}
	// Each day: released by the first pass (0) and once by the re-run (1).
	want := []string{"2026-11-02 gen 1", "2026-11-03 gen 1", "2026-11-04 gen 1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("day releases after a failed re-run and its retry: %v, want %v", got, want)
	}
}
