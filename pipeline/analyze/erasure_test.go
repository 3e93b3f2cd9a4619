package analyze

import (
	"context"
	"testing"
	"time"

	"commpulse/network"
)

// erasureFixture writes edges and node_metrics rows of p_in (erasure in
// flight: started, not done), p_old (erased and done long ago, since opted
// in again) and p_keep (never erased), in two day windows.
func erasureFixture(t *testing.T, e *chEnv, w1, w2 time.Time) {
	t.Helper()
	ctx := context.Background()
	c := e.st.Conn()
	for _, w := range []time.Time{w1, w2} {
		for _, p := range []string{"p_in", "p_old", "p_keep"} {
			if err := c.Exec(ctx, "INSERT INTO "+e.db+".node_metrics (window_start, window_days, person) VALUES (?, 1, ?)", w, p); err != nil {
				t.Fatal(err)
			}
			if err := c.Exec(ctx, "INSERT INTO "+e.db+".edges (window_start, window_days, src, dst) VALUES (?, 1, ?, 'p_keep'), (?, 1, 'p_keep', ?)", w, p, w, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.Exec(ctx, "INSERT INTO "+e.db+".erasures (person, erased_at, batch, done) VALUES (?, ?, 'b1', false), (?, ?, 'b0', true)",
		"p_in", time.Now().Add(-time.Hour), "p_old", time.Now().AddDate(0, 0, -3)); err != nil {
		t.Fatal(err)
	}
}

// eraseInFlight removes, from the window just written only, the rows of a
// person whose erasure is in flight, with a physical mutation; a person
// erased long ago (who may have opted in again) and others keep theirs.
func TestEraseInFlightErasesTheWindow(t *testing.T) {
	e := newCH(t)
	a, _ := newAnalyzer(t, e, Config{}, nil)
	w1, w2 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	erasureFixture(t, e, w1, w2)
	if err := a.eraseInFlight(context.Background(), time.Now(), w1, 1); err != nil {
		t.Fatal(err)
	}
	for what, want := range map[string]int{
		"SELECT count() FROM {db}.node_metrics WHERE person = 'p_in' AND window_start = '2026-11-02 00:00:00'":               0,
		"SELECT count() FROM {db}.edges WHERE (src = 'p_in' OR dst = 'p_in') AND window_start = '2026-11-02 00:00:00'":       0,
		"SELECT count() FROM {db}.node_metrics WHERE person = 'p_in' AND window_start = '2026-11-03 00:00:00'":               1,
		"SELECT count() FROM {db}.node_metrics WHERE person IN ('p_old', 'p_keep') AND window_start = '2026-11-02 00:00:00'": 2,
		"SELECT count() FROM {db}.edges WHERE (src = 'p_old' OR dst = 'p_old') AND window_start = '2026-11-02 00:00:00'":     2,
		"SELECT count() FROM {db}.node_metrics WHERE person = 'p_in' SETTINGS apply_deleted_mask = 0":                        1,
		"SELECT count() FROM system.mutations WHERE database = '{db}' AND position(command, 'p_in') > 0":                     0,
	} {
		if got := e.count(what); got != want {
			t.Errorf("%s: %d, want %d", what, got, want)
		}
	}
}

// dropErased removes the nodes and edges of persons erased in flight from
// the result before it is written, and runs the test hook first.
func TestDropErased(t *testing.T) {
	e := newCH(t)
	hooked := 0
	cfg := Config{}
	cfg.SetBetweenReadAndWrite(func(context.Context, time.Time, int) { hooked++ })
	a, _ := newAnalyzer(t, e, cfg, nil)
	erasureFixture(t, e, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC))
	res := &network.Result{
		Nodes: []network.NodeMetrics{{Person: "p_in"}, {Person: "p_keep"}, {Person: "p_old"}},
		Edges: []network.Edge{{Src: "p_in", Dst: "p_keep"}, {Src: "p_keep", Dst: "p_in"}, {Src: "p_keep", Dst: "p_old"}},
	}
	if err := a.dropErased(context.Background(), time.Now(), time.Time{}, 1, res); err != nil {
		t.Fatal(err)
	}
	if hooked != 1 {
		t.Fatalf("hook ran %d times", hooked)
	}
	if len(res.Nodes) != 2 || res.Nodes[0].Person != "p_keep" || res.Nodes[1].Person != "p_old" {
		t.Fatalf("nodes %+v", res.Nodes)
	}
	if len(res.Edges) != 1 || res.Edges[0].Dst != "p_old" {
		t.Fatalf("edges %+v", res.Edges)
	}
}
