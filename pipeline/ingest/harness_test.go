package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"commpulse/internal/chlocal"
	"commpulse/internal/kafkatest"
	"commpulse/internal/synth"
	"commpulse/nlp"
	"commpulse/pipeline/store"
	"commpulse/pipeline/store/storetest"
)

// env is one integration-test world: a broker, a ClickHouse database, and
// the truth about what was produced.
type env struct {
	t       testing.TB
	kafka   *kfake.Cluster
	brokers []string
	srv     *chlocal.Server
	st      *store.Store
	db      string
	cfg     Config

	valid, malformed, notOptedIn, optedOut int
	validIDs                               map[string]bool
	texts                                  []string
	people                                 []string
}

func newEnv(t testing.TB, kopts ...kfake.Opt) *env {
	t.Helper()
	kc, brokers := kafkatest.Start(t, kopts...)
	st, srv, db := storetest.Migrated(t)
	cfg := Defaults()
	cfg.Brokers = brokers
	cfg.Group = "test-" + db
	cfg.BatchRows = 5000
	cfg.BatchInterval = 200 * time.Millisecond
	// Long enough that a loaded CI machine does not expire the session
	// (a rebalance redelivers, which the exactness test would see), short
	// enough that a killed member's partitions move on quickly.
	cfg.SessionTimeout = 4 * time.Second
	cfg.LagInterval = 500 * time.Millisecond
	cfg.RetryMax = time.Second
	cfg.Logger = testLogger(t)
	return &env{t: t, kafka: kc, brokers: brokers, srv: srv, st: st, db: db, cfg: cfg, validIDs: map[string]bool{}}
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		// COMMPULSE_TEST_LOG=debug also shows kafka-go's reader log
		// (rebalances, fetch errors), which ingest logs at debug.
		level := slog.LevelInfo
		if os.Getenv("COMMPULSE_TEST_LOG") == "debug" {
			level = slog.LevelDebug
		}
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// produceOrg writes the directory, the consents and the org's events.
func (e *env) produceOrg(org *synth.Org) {
	e.t.Helper()
	e.produceTables(org)
	kafkatest.Produce(e.t, e.brokers, e.cfg.EventsTopic, e.orgEvents(org))
}

// orgEvents returns the org's events as records and counts what they are
// (valid, malformed, ...), without producing them.
func (e *env) orgEvents(org *synth.Org) []kafka.Message {
	e.t.Helper()
	var evs []kafka.Message
	for g := range org.Events() {
		evs = append(evs, kafka.Message{Key: g.Key(), Value: g.Value()})
		switch g.Kind {
		case synth.Valid:
			e.valid++
			e.validIDs[g.Event.EventID] = true
		case synth.Malformed:
			e.malformed++
		case synth.NotOptedIn:
			e.notOptedIn++
		case synth.OptedOut:
			e.optedOut++
		default:
			e.t.Fatalf("unexpected generated kind %v", g.Kind)
		}
		if g.Event.Text != "" {
			e.texts = append(e.texts, g.Event.Text)
		}
	}
	return evs
}

// produceTables writes the org's directory and consent records.
func (e *env) produceTables(org *synth.Org) {
	var dir, cons []kafka.Message
	for _, d := range org.Directory() {
		dir = append(dir, kafka.Message{Key: []byte(d.Person), Value: synth.MarshalDirectory(d)})
		e.people = append(e.people, d.Person)
	}
	for _, c := range org.Consents() {
		cons = append(cons, kafka.Message{Key: []byte(c.Person), Value: synth.MarshalConsent(c)})
	}
	kafkatest.Produce(e.t, e.brokers, e.cfg.DirectoryTopic, dir)
	kafkatest.Produce(e.t, e.brokers, e.cfg.ConsentTopic, cons)
}

// worker is one in-process ingest run.
type worker struct {
	in     *Ingest
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

func (e *env) start(sink Sink) *worker { return e.startWith(sink, nlp.New()) }

func (e *env) startWith(sink Sink, scorer Scorer) *worker {
	e.t.Helper()
	if sink == nil {
		sink = e.st
	}
	reg := prometheus.NewRegistry()
	in, err := New(e.cfg, sink, scorer, reg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{in: in, reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { w.done <- in.Run(ctx) }()
	e.t.Cleanup(func() { w.stop(e.t) })
	return w
}

var stopOnce sync.Map

func (w *worker) stop(t testing.TB) {
	if _, done := stopOnce.LoadOrStore(w, true); done {
		return
	}
	w.cancel()
	select {
	case err := <-w.done:
		if err != nil {
			t.Errorf("ingest run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Error("ingest did not stop within a minute")
	}
}

// handled is the number of records the worker has finished with.
func (w *worker) handled() int {
	m := w.in.m
	n := testutil.ToFloat64(m.Processed)
	for _, vec := range []*prometheus.CounterVec{m.Dropped, m.DLQ} {
		n += sumVec(vec)
	}
	return int(n)
}

func sumVec(v *prometheus.CounterVec) float64 {
	return sumMetrics(v, func(m *dto.Metric) float64 { return m.GetCounter().GetValue() })
}

func sumGauge(v *prometheus.GaugeVec) float64 {
	return sumMetrics(v, func(m *dto.Metric) float64 { return m.GetGauge().GetValue() })
}

// sumMetrics adds up value(m) over every series of c.
func sumMetrics(c prometheus.Collector, value func(*dto.Metric) float64) float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	var s float64
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err == nil {
			s += value(&pb)
		}
	}
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// query runs a single-value query.
func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n uint64
	q = strings.ReplaceAll(q, "{db}", e.db)
	if err := e.st.Conn().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return int(n)
}

func (e *env) eventIDs() map[string]int {
	e.t.Helper()
	rows, err := e.st.Conn().Query(context.Background(), fmt.Sprintf("SELECT event_id FROM %s.messages FINAL", e.db))
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			e.t.Fatal(err)
		}
		out[id]++
	}
	return out
}
