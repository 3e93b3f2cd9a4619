package analyze

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"commpulse/internal/chlocal/chtest"
	"commpulse/pipeline/store"
)

// benchWindow inserts one day of messages for people persons in teams of 20:
// each sends 25 two-recipient messages to 50 fixed contacts (19 teammates,
// 31 people anywhere), i.e. people*50 directed edges.
func benchWindow(b *testing.B, e *chEnv, day time.Time, people int) {
	r := rand.New(rand.NewPCG(1, 2))
	id := func(i int) string { return fmt.Sprintf("p_%016x", uint64(i)*0x9e3779b97f4a7c15) }
	team := func(i int) string { return "team-" + strconv.Itoa(i/20) }
	var batch []store.Message
	n := 0
	for p := range people {
		base := p / 20 * 20
		var contacts []int
		for j := range 20 {
			if base+j != p && base+j < people {
				contacts = append(contacts, base+j)
			}
		}
		for len(contacts) < 50 {
			if c := r.IntN(people); c/20 != p/20 && !slices.Contains(contacts, c) {
				contacts = append(contacts, c)
			}
		}
		for m := range 25 {
			a, c := contacts[2*m], contacts[2*m+1]
			msg := store.Message{
				EventID: fmt.Sprintf("e%09d", n), OccurredAt: day.Add(time.Duration(r.Int64N(int64(24 * time.Hour)))),
				IngestedAt: day, Channel: "chat", Sender: id(p), Team: team(p),
				Recipients: []string{id(a), id(c)}, RecipientTeams: []string{team(a), team(c)},
				ThreadID: fmt.Sprintf("th_%d", n/3), Lang: "en", Status: "scored", Scored: true,
				Compound: float32(r.Float64()*2 - 1),
			}
			batch = append(batch, msg)
			n++
			if len(batch) == 50_000 {
				if err := e.st.InsertMessages(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	if err := e.st.InsertMessages(context.Background(), batch); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDayWindow10kPeople500kEdges times the analysis of one day window
// of 10,000 people and 500,000 directed edges end to end: read from
// ClickHouse (team stats and the pairs aggregated in SQL), network.Compute,
// write team_stats, edges, node_metrics, team_network, anomalies. Iterations
// after the first re-run the window (they also delete its old rows). The
// rolling window is off: it is a second window. Peak RSS of the Go process
// (VmHWM) is reported; the ClickHouse engine runs in a child process. CPU
// seconds per window of this process (go-cpu-s/op) and of the ClickHouse
// server (ch-cpu-s/op) are reported too: on the shared 2-core machine the
// wall time includes waiting for other work, the CPU time does not.
// COMMPULSE_BENCH_LOG=1 prints the read / compute / write split.
//
//	go test -run '^$' -bench DayWindow10k -benchtime 3x ./pipeline/analyze/
func BenchmarkDayWindow10kPeople500kEdges(b *testing.B) { benchDayWindow(b, 10_000) }

// BenchmarkDayWindowScaling measures one day window at several sizes, for
// the scaling table of docs/scaling.md: people persons in teams of 20,
// people*50 directed edges. Sizes are COMMPULSE_SCALE_PEOPLE (default
// "10000,30000"; 100000 needs about 5 GB). Peak RSS is the process's: run
// one size per process to read it, e.g. -bench 'DayWindowScaling/people=30000$'.
func BenchmarkDayWindowScaling(b *testing.B) {
	sizes := os.Getenv("COMMPULSE_SCALE_PEOPLE")
	if sizes == "" {
		sizes = "10000,30000"
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 20 {
			b.Fatalf("COMMPULSE_SCALE_PEOPLE: %q is not a size of at least 20", s)
		}
		b.Run("people="+strconv.Itoa(n), func(b *testing.B) { benchDayWindow(b, n) })
	}
}

// benchDayWindow times processDay on a window of benchWindow(people): the
// read, team stats, network.Compute and the write, end to end.
func benchDayWindow(b *testing.B, people int) {
	e := newCH(b)
	day := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)
	t0 := time.Now()
	benchWindow(b, e, day, people)
	b.Logf("inserted %d messages in %s", e.count("SELECT count() FROM {db}.messages"), time.Since(t0).Round(time.Millisecond))
	clock := &fixedClock{t: day.Add(25 * time.Hour)}
	a, err := New(Config{Now: clock.Now, RollingDays: -1, Since: day, Logger: benchLogger()}, e.st, nil, nilRegistry{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := a.start(ctx, Day); err != nil {
		b.Fatal(err)
	}
	chPID := chtest.Server(b).PID()
	goCPU0, chCPU0 := selfCPU(), procCPU(chPID)
	b.ResetTimer()
	for b.Loop() {
		if err := a.processDay(ctx, day); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// CPU seconds tell the cost apart from the wait when the two shared
	// cores are busy with other work: wall time is only comparable between
	// runs on a quiet machine.
	b.ReportMetric((selfCPU()-goCPU0).Seconds()/float64(b.N), "go-cpu-s/op")
	if chCPU0 >= 0 {
		b.ReportMetric((procCPU(chPID)-chCPU0).Seconds()/float64(b.N), "ch-cpu-s/op")
	}
	edges := e.count("SELECT count() FROM {db}.edges WHERE window_days = 1")
	nodes := e.count("SELECT count() FROM {db}.node_metrics WHERE window_days = 1")
	if edges != people*50 || nodes != people {
		b.Fatalf("window has %d edges and %d nodes, want %d and %d", edges, nodes, people*50, people)
	}
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
}

// peakRSS is the process's peak resident set size in bytes (Linux VmHWM).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// selfCPU is the user+system CPU time used by this process so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the user+system CPU time used so far by process pid (Linux
// /proc/pid/stat, 100 ticks a second), or -1 when it cannot be read.
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces; fields after ')' start at 3.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(ut+st) * (time.Second / 100)
}

// nilRegistry discards metric registrations.
type nilRegistry struct{}

func (nilRegistry) Register(prometheus.Collector) error  { return nil }
func (nilRegistry) MustRegister(...prometheus.Collector) {}
func (nilRegistry) Unregister(prometheus.Collector) bool { return true }

// benchLogger shows the analyzer's stage timings (debug level) when
// COMMPULSE_BENCH_LOG is set; otherwise it discards.
func benchLogger() *slog.Logger {
	if os.Getenv("COMMPULSE_BENCH_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
