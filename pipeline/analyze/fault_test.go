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

// windowRows reads, per window ("granularity window_start"), the rows
// released for it in team_stats, without computed_at and epsilon, and the
// window's epsilon; and per window its newest analyzer_windows row
// (generation, done).
func windowRows(t *testing.T, e *chEnv) (rows map[string][]string, eps map[string]float64, progress map[string]string) {
	t.Helper()
	rows, eps, progress = map[string][]string{}, map[string]float64{}, map[string]string{}
	q := func(sql string, each func(w, v string, f float64)) {
		r, err := e.st.Conn().Query(context.Background(), sql)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for r.Next() {
			var (
				w, v string
				f    float64
			)
			if err := r.Scan(&w, &v, &f); err != nil {
				t.Fatal(err)
			}
			each(w, v, f)
		}
	}
	q(`SELECT granularity || ' ' || toString(window_start), toString(tuple(team, messages, active_members, scored_messages, mean_compound,
		negative_share, positive_share, after_hours_share, k_applied)), epsilon FROM team_stats FINAL ORDER BY ALL`,
		func(w, v string, f float64) { rows[w] = append(rows[w], v); eps[w] = f })
	q(`SELECT granularity || ' ' || toString(window_start), toString(tuple(argMax(generation, computed_at), argMax(done, computed_at))), toFloat64(0)
		FROM analyzer_windows GROUP BY granularity, window_start`,
		func(w, v string, _ float64) { progress[w] = v })
	return rows, eps, progress
}

// TestStoreFaultRetriesTheWindow fails one store call in the middle of a
// pass. The Step reports it and the next Step redoes what it interrupted,
// with the accounting of a release cut short: every window begun before
// its first write (MarkBegun) and not done is released again, and since
// its inputs did not change (the keyed digest of its begun mark) at the
// same generation: the same figures bit for bit, one release counted,
// never fresh noise nothing counts. Every window is therefore exactly as
// after a pass that never failed; no window is missing, none is left
// undone. A fault before the first write (a read) changes nothing.
func TestStoreFaultRetriesTheWindow(t *testing.T) {
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // Monday
	to := from.Add(48 * time.Hour)
	msgs := smallOrg(from, to, 11)
	clock := &fixedClock{t: to.Add(65 * time.Minute)}
	type result struct {
		e           *chEnv
		first, then error
		cut         map[string]bool // windows begun and not done after the failed Step
	}
	run := func(t *testing.T, fail string) result {
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
		r := result{e: e, cut: map[string]bool{}}
		_, r.first = a.Step(context.Background())
		_, _, progress := windowRows(t, e)
		for w, p := range progress {
			if strings.HasSuffix(p, ",false)") {
				r.cut[w] = true
			}
		}
		_, r.then = a.Step(context.Background())
		if fail != "" && !fs.failed {
			t.Fatalf("%s was never called", fail)
		}
		return r
	}
	clean := run(t, "")
	if clean.first != nil || clean.then != nil {
		t.Fatalf("clean run: %v, %v", clean.first, clean.then)
	}
	wantRows, wantEps, wantProgress := windowRows(t, clean.e)
	if len(wantRows["day 2026-11-02 00:00:00"]) == 0 {
		t.Fatalf("the clean run published no day row: %v", wantRows)
	}
	for _, method := range []string{"DayCells", "WriteTeamStats", "WriteTeamThemes", "WriteNetwork", "WriteAnomalies", "MarkDone"} {
		t.Run(method, func(t *testing.T) {
			r := run(t, method)
			if !errors.Is(r.first, errInjected) {
				t.Fatalf("first Step: %v, want the injected fault", r.first)
			}
			if r.then != nil {
				t.Fatalf("second Step: %v", r.then)
			}
			if (len(r.cut) == 0) != (method == "DayCells") {
				t.Fatalf("windows cut short: %v (a read fault cuts none, a write fault at least one)", r.cut)
			}
			rows, eps, progress := windowRows(t, r.e)
			if len(progress) != len(wantProgress) {
				t.Fatalf("%d windows recorded, want %d", len(progress), len(wantProgress))
			}
			// The retry reads the same inputs as the release cut short, so
			// it reuses its generation: the same figures, bit for bit, one
			// release counted (generations.go; changed inputs take the
			// next generation: TestRetryOnChangedInputsTakesTheNextGeneration).
			for w, want := range wantProgress {
				if progress[w] != want {
					t.Errorf("window %s: (generation, done) %s, want %s", w, progress[w], want)
				}
				if fmt.Sprint(rows[w]) != fmt.Sprint(wantRows[w]) || eps[w] != wantEps[w] {
					t.Errorf("window %s differs from the clean run:\n%v (epsilon %v)\nwant\n%v (epsilon %v)", w, rows[w], eps[w], wantRows[w], wantEps[w])
				}
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
