package deploy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"commpulse/internal/chlocal"
	"commpulse/internal/kafkatest"
	"commpulse/internal/testio"
	"commpulse/pipeline/metrics"
)

// series is an exported sample name (a family name, or a histogram's
// _bucket/_sum/_count) with the labels its samples carry besides job and
// instance.
type series struct {
	labels map[string]bool
	source string
}

// capture is a prometheus.Registerer that keeps the collectors it is given.
type capture struct{ cs []prometheus.Collector }

func (c *capture) Register(x prometheus.Collector) error   { c.cs = append(c.cs, x); return nil }
func (c *capture) MustRegister(xs ...prometheus.Collector) { c.cs = append(c.cs, xs...) }
func (c *capture) Unregister(prometheus.Collector) bool    { return false }

var descRE = regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)

// constructorSeries lists what the metric constructors of ingest and
// analyze (the only ones the binary uses) can export, including label
// vectors that have no child yet and so are absent from a fresh /metrics.
func constructorSeries(t testing.TB) map[string]series {
	t.Helper()
	var c capture
	metrics.NewIngest(&c)
	metrics.NewAnalyze(&c)
	out := map[string]series{}
	for _, col := range c.cs {
		ch := make(chan *prometheus.Desc, 4)
		go func() { col.Describe(ch); close(ch) }()
		var descs []*prometheus.Desc
		for d := range ch {
			descs = append(descs, d)
		}
		if len(descs) != 1 {
			t.Fatalf("collector %T describes %d metrics; want 1", col, len(descs))
		}
		m := descRE.FindStringSubmatch(descs[0].String())
		if m == nil {
			t.Fatalf("cannot read %s", descs[0])
		}
		name, labels := m[1], map[string]bool{}
		for _, l := range strings.Split(m[2], ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels[strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")")] = true
			}
		}
		kind := "plain"
		switch v := col.(type) {
		case *prometheus.HistogramVec:
			kind = "histogram"
		case *prometheus.SummaryVec:
			kind = "summary"
		case prometheus.Metric:
			var pb dto.Metric
			if err := v.Write(&pb); err != nil {
				t.Fatal(err)
			}
			if pb.Histogram != nil {
				kind = "histogram"
			} else if pb.Summary != nil {
				kind = "summary"
			}
		}
		add := func(n string, extra string) {
			ls := map[string]bool{}
			for l := range labels {
				ls[l] = true
			}
			if extra != "" {
				ls[extra] = true
			}
			out[n] = series{labels: ls, source: "constructor"}
		}
		switch kind {
		case "histogram":
			add(name+"_bucket", "le")
			add(name+"_sum", "")
			add(name+"_count", "")
		case "summary":
			add(name, "quantile")
			add(name+"_sum", "")
			add(name+"_count", "")
		default:
			add(name, "")
		}
	}
	return out
}

var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? `)
var labelNameRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"`)

// parseExposition reads the sample names and label names of a text-format
// scrape.
func parseExposition(r io.Reader) map[string]series {
	out := map[string]series{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s, ok := out[m[1]]
		if !ok {
			s = series{labels: map[string]bool{}, source: "scrape"}
			out[m[1]] = s
		}
		for _, l := range labelNameRE.FindAllStringSubmatch(m[2], -1) {
			s.labels[l[1]] = true
		}
	}
	return out
}

var scrape struct {
	once sync.Once
	got  map[string]series
	err  error
}

// scrapeBinary runs the built `commpulse generate`, then `commpulse ingest`
// and `commpulse analyze` (configured through COMMPULSE_* variables, as in
// compose) against an in-process Kafka and a real ClickHouse. It scrapes
// ingest once it has written events, dropped some and dead-lettered others,
// and analyze once it has analyzed windows, and returns both scrapes merged.
func scrapeBinary(t *testing.T) map[string]series {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Kafka, ClickHouse and the binary; skipped with -short")
	}
	bin, _ := binaries(t)
	_, brokers := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ch, err := chlocal.Start(ctx, chlocal.Config{})
	if err != nil {
		t.Fatalf("start ClickHouse: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ch.Close(ctx)
	})
	kafkaEnv := "COMMPULSE_BROKERS=" + strings.Join(brokers, ",")
	chEnv := []string{"COMMPULSE_CH_ADDR=" + ch.Addr(), "COMMPULSE_CH_DATABASE=deploytest"}

	gen := exec.CommandContext(ctx, bin, "generate")
	gen.Env = []string{kafkaEnv, "COMMPULSE_TEAMS=3", "COMMPULSE_DAYS=2", "COMMPULSE_COUNT=3000",
		"COMMPULSE_MALFORMED_RATE=0.05", "COMMPULSE_NOT_OPTED_IN_RATE=0.05"}
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("commpulse generate: %v\n%s", err, out)
	}

	processed := regexp.MustCompile(`(?m)^commpulse_processed_total ([1-9]\S*)$`)
	got := runAndScrape(t, bin, "ingest",
		append([]string{kafkaEnv, "COMMPULSE_HTTP_ADDR=127.0.0.1:0", "COMMPULSE_BATCH_INTERVAL=200ms"}, chEnv...),
		func(body []byte, s map[string]series) bool {
			_, dlq := s["commpulse_dlq_total"]
			_, dropped := s["commpulse_dropped_total"]
			return processed.Match(body) && dlq && dropped
		})
	an := runAndScrape(t, bin, "analyze",
		append([]string{kafkaEnv, "COMMPULSE_HTTP_ADDR=127.0.0.1:0", "COMMPULSE_TICK=1s"}, chEnv...),
		func(body []byte, s map[string]series) bool {
			_, windows := s["commpulse_analyzer_windows_total"]
			return windows
		})
	for n, v := range an {
		if old, ok := got[n]; ok {
			for l := range v.labels {
				old.labels[l] = true
			}
			continue
		}
		got[n] = v
	}
	return got
}

// runAndScrape starts `commpulse sub` with env, finds its HTTP address in
// its log, polls /metrics until done accepts a scrape, stops the process
// with SIGINT and returns that scrape.
func runAndScrape(t *testing.T, bin, sub string, env []string, done func([]byte, map[string]series) bool) map[string]series {
	t.Helper()
	cmd := exec.Command(bin, sub)
	cmd.Env = env
	stderr := &testio.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(40 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	httpRE := regexp.MustCompile(`http=(127\.0\.0\.1:\d+)`)
	var url string
	var got map[string]series
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("commpulse %s exited: %v\n%s", sub, err, stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
		if url == "" {
			if m := httpRE.FindStringSubmatch(stderr.String()); m != nil {
				url = "http://" + m[1] + "/metrics"
			}
			continue
		}
		resp, err := http.Get(url)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = parseExposition(bytes.NewReader(body))
		if done(body, got) {
			return got
		}
	}
	t.Fatalf("commpulse %s: /metrics did not show the expected activity within 3 minutes; last scrape had %d series\n%s", sub, len(got), stderr.String())
	return nil
}

// exportedSeries is the union of a live ingest scrape and the constructors.
// It fails the test if the two disagree about a commpulse_ name.
func exportedSeries(t *testing.T) map[string]series {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a scrape of the running binary (Kafka, ClickHouse); skipped with -short")
	}
	scrape.once.Do(func() {
		// The scrape runs once per test binary; a failure inside it is
		// reported by the test that ran it, and the others see err.
		ok := t.Run("scrape_running_binary", func(t *testing.T) { scrape.got = scrapeBinary(t) })
		if !ok || scrape.got == nil {
			scrape.err = fmt.Errorf("scraping the running binary failed")
		}
	})
	if scrape.err != nil {
		t.Fatal(scrape.err)
	}
	cons := constructorSeries(t)
	all := map[string]series{}
	for n, s := range scrape.got {
		if strings.HasPrefix(n, "commpulse_") {
			c, ok := cons[n]
			if !ok {
				t.Errorf("the binary exports %s, which no constructor in pipeline/metrics declares", n)
			} else {
				for l := range s.labels {
					if l != "job" && l != "instance" && !c.labels[l] {
						t.Errorf("the binary exports %s with label %s, which its constructor does not declare", n, l)
					}
				}
			}
		}
		all[n] = s
	}
	for n, s := range cons {
		if _, ok := all[n]; !ok {
			all[n] = s
		}
	}
	return all
}

// The running binaries export the ingest and analyzer metrics, the
// histograms with their suffixes, and the Go and process collectors: the
// scrape is real, not an empty page.
func TestScrapeHasPipelineMetrics(t *testing.T) {
	all := exportedSeries(t)
	for _, want := range []string{
		"commpulse_consumed_total", "commpulse_processed_total", "commpulse_ready",
		"commpulse_sink_flush_seconds_bucket", "commpulse_event_to_row_latency_seconds_count",
		"commpulse_consumer_lag", "commpulse_sink_rows_total", "commpulse_dlq_total", "commpulse_dropped_total",
		"process_resident_memory_bytes", "go_goroutines",
		"commpulse_analyzer_ready", "commpulse_analyzer_windows_total", "commpulse_analyzer_last_window_timestamp_seconds",
		"commpulse_analyzer_window_seconds_bucket",
	} {
		if s, ok := all[want]; !ok || s.source != "scrape" {
			t.Errorf("%s is not in the live scrape", want)
		}
	}
}

var (
	stringLit = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	rangeSel  = regexp.MustCompile(`\[[^\]]*\]`)
	grouping  = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	ident     = regexp.MustCompile(`\b[a-zA-Z_:][a-zA-Z0-9_:]*\b`)
	selector  = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}`)
	matcher   = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`)
)

var promqlWords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"inf": true, "nan": true, "Inf": true, "NaN": true,
}

// referencedSeries returns the metric names an expression reads and the
// label names its selectors match on, by name. Function names (followed by
// a parenthesis), keywords, grouping clauses, strings and ranges are
// skipped. promtool parses the rules properly; this is the name check.
func referencedSeries(expr string) map[string][]string {
	out := map[string][]string{}
	for _, m := range selector.FindAllStringSubmatch(expr, -1) {
		for _, l := range matcher.FindAllStringSubmatch(stringLit.ReplaceAllString(m[2], `""`), -1) {
			out[m[1]] = append(out[m[1]], l[1])
		}
	}
	e := stringLit.ReplaceAllString(expr, " ")
	e = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(e, " ")
	e = rangeSel.ReplaceAllString(e, " ")
	e = grouping.ReplaceAllString(e, " ")
	for _, loc := range ident.FindAllStringIndex(e, -1) {
		w := e[loc[0]:loc[1]]
		if promqlWords[w] || strings.HasPrefix(w, "$") || (loc[0] > 0 && e[loc[0]-1] == '$') {
			continue
		}
		if rest := strings.TrimLeft(e[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function or aggregation
		}
		if _, ok := out[w]; !ok {
			out[w] = nil
		}
	}
	return out
}

func TestReferencedSeriesParser(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want map[string][]string
	}{
		{`sum by (job, le) (rate(commpulse_x_bucket{job="$ingest", le!="+Inf"}[$__rate_interval]))`,
			map[string][]string{"commpulse_x_bucket": {"job", "le"}}},
		{`time() - max by (job) (a{granularity="hour"}) > 3 * 3600 and on () sum(rate(b[1h])) > 0`,
			map[string][]string{"a": {"granularity"}, "b": nil}},
		{`(increase(c[1h]) and c offset 1h) or c`, map[string][]string{"c": nil}},
		{`commpulse:lag:sum / commpulse:rate5m{job="x"}`, map[string][]string{"commpulse:lag:sum": nil, "commpulse:rate5m": {"job"}}},
		{`histogram_quantile(0.99, sum by (le) (rate(h_bucket{a=~"x|y"}[5m])))`, map[string][]string{"h_bucket": {"a"}}},
	} {
		got := referencedSeries(tc.expr)
		if fmt.Sprint(sortedMap(got)) != fmt.Sprint(sortedMap(tc.want)) {
			t.Errorf("referencedSeries(%q) = %v, want %v", tc.expr, sortedMap(got), sortedMap(tc.want))
		}
	}
}

func sortedMap(m map[string][]string) []string {
	var out []string
	for k, v := range m {
		v = append([]string(nil), v...)
		sort.Strings(v)
		out = append(out, k+"="+strings.Join(v, ","))
	}
	sort.Strings(out)
	return out
}

// TestQueriesUseExportedMetrics checks every PromQL expression of the alert
// rules and the dashboards: each metric name is exported by the binary (or
// is a recording rule of ours, or Prometheus' own up), and each label a
// selector matches on is one the metric carries.
func TestQueriesUseExportedMetrics(t *testing.T) {
	exported := exportedSeries(t)
	recorded := map[string]bool{}
	type query struct{ where, expr string }
	var queries []query
	for _, path := range ruleFiles(t) {
		for _, g := range loadRules(t, path).Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					recorded[r.Record] = true
				}
				queries = append(queries, query{fmt.Sprintf("%s %s%s", path, r.Alert, r.Record), r.Expr})
			}
		}
	}
	dsUIDs := map[string]string{}
	for _, ds := range loadDatasources(t) {
		dsUIDs[ds.UID] = ds.Type
	}
	targets := dashboardTargets(t)
	for _, tg := range targets {
		if dsUIDs[tg.dsUID] == "" {
			t.Errorf("%s panel %q: data source uid %q is not provisioned", tg.dashboard, tg.panel, tg.dsUID)
		}
		if dsUIDs[tg.dsUID] == "prometheus" {
			queries = append(queries, query{fmt.Sprintf("%s panel %q", tg.dashboard, tg.panel), tg.expr})
		}
	}
	if len(queries) < 30 {
		t.Fatalf("only %d queries found", len(queries))
	}
	target := map[string]bool{"job": true, "instance": true}
	for _, q := range queries {
		for name, labels := range referencedSeries(q.expr) {
			if recorded[name] {
				continue
			}
			if name == "up" {
				continue
			}
			s, ok := exported[name]
			if !ok {
				t.Errorf("%s: %s is not a metric the binary exports", q.where, name)
				continue
			}
			for _, l := range labels {
				if !target[l] && !s.labels[l] {
					t.Errorf("%s: %s has no label %q", q.where, name, l)
				}
			}
		}
	}
}
