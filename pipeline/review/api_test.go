package review

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"commpulse/internal/chlocal/chtest"
	"commpulse/pipeline/metrics"
	"commpulse/pipeline/store"
	"commpulse/pipeline/store/storetest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const (
	tokenA = "review-token-A-0123456789abcdef0123456789"
	tokenB = "review-token-B-0123456789abcdef0123456789"
)

// apiEnv is the API over a real ClickHouse with anomalies stored.
type apiEnv struct {
	t   *testing.T
	st  *store.Store
	db  string
	srv *httptest.Server
	m   *metrics.Review
	day time.Time
}

func newAPI(t *testing.T, as func(day time.Time) []store.Anomaly) *apiEnv {
	t.Helper()
	st, _, db := storetest.Migrated(t)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -14) // recent: the tables' TTL is 180 days
	rows := as(day)
	ctx := context.Background()
	// No background merges: snapshot compares every row as written, and a
	// ReplacingMergeTree merge would change them without any request.
	for _, table := range []string{"anomalies", "anomaly_reviews"} {
		if err := st.Conn().Exec(ctx, "SYSTEM STOP MERGES "+db+"."+table); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.WriteAnomalies(ctx, store.Day, day.AddDate(0, 0, -30), day.AddDate(0, 0, 30), rows); err != nil {
		t.Fatal(err)
	}
	// The token file as an operator writes it: a comment, two tokens.
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte("# review API tokens\n"+tokenA+"\n\n"+tokenB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultServerConfig()
	cfg.TokenFile = path
	if err := cfg.Validate(); err != nil || cfg.Tokens().Len() != 2 {
		t.Fatalf("validate: %v (%d tokens)", err, cfg.Tokens().Len())
	}
	m := metrics.NewReview(prometheus.NewRegistry())
	srv := httptest.NewServer(NewHandler(NewService(st, nil, m), cfg.Tokens(), m, nil))
	t.Cleanup(srv.Close)
	return &apiEnv{t: t, st: st, db: db, srv: srv, m: m, day: day}
}

func anomaly(day time.Time, team, metric string, d int) store.Anomaly {
	return store.Anomaly{WindowStart: day.AddDate(0, 0, d), Granularity: store.Day, Team: team, Metric: metric,
		Value: 0.1, Expected: 0.3, Low: 0.25, High: 0.35, Score: 0.9, Severity: store.Critical, Direction: "down",
		Detector: "level", Explanation: team + ": " + metric + " fell", DetectedAt: day.AddDate(0, 0, d+1)}
}

// do sends a request with the Authorization header auth ("" for none)
// and returns the status and body.
func (e *apiEnv) do(method, path, auth, body string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
		e.t.Errorf("%s %s: 401 without WWW-Authenticate", method, path)
	}
	return resp.StatusCode, b
}

// snapshot is every row of anomaly_reviews (not FINAL: a write of any kind
// shows) and of anomalies.
func (e *apiEnv) snapshot() string {
	e.t.Helper()
	var b bytes.Buffer
	for _, q := range []string{
		"SELECT toString(tuple(*)) FROM " + e.db + ".anomaly_reviews ORDER BY ALL",
		"SELECT toString(tuple(*)) FROM " + e.db + ".anomalies ORDER BY ALL",
	} {
		rows, err := e.st.Conn().Query(context.Background(), q)
		if err != nil {
			e.t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				e.t.Fatal(err)
			}
			b.WriteString(s + "\n")
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

func (e *apiEnv) state(a store.Anomaly) store.Review {
	e.t.Helper()
	ra, err := e.st.ReviewedAnomaly(context.Background(), a.KeyFields())
	if err != nil {
		e.t.Fatal(err)
	}
	return ra.Review
}

func reviewPath(a store.Anomaly) string {
	return "/v1/anomalies/" + url.PathEscape(a.Key()) + "/review"
}

func body(state string, reason Reason) string {
	b, _ := json.Marshal(SetRequest{State: state, Reason: string(reason)})
	return string(b)
}

var bearerA = "Bearer " + tokenA

// The review API: every route refuses a missing or wrong token with 401
// and changes nothing; each allowed transition is applied and stored with
// the token's pseudonym; each refused one is 409 and changes nothing; an
// unknown anomaly is 404 and bad input 400, both changing nothing.
func TestReviewAPI(t *testing.T) {
	e := newAPI(t, func(day time.Time) []store.Anomaly {
		return []store.Anomaly{anomaly(day, "alpha", "mean_compound", 0), anomaly(day, "alpha", "mean_compound", 1),
			anomaly(day, "beta", "negative_share", 0), anomaly(day, "beta", "negative_share", 1), anomaly(day, "gamma", "messages", 2),
			earlyWarning(day, "delta", -1)}
	})
	a := func(team, metric string, d int) store.Anomaly { return anomaly(e.day, team, metric, d) }
	walk, target := a("alpha", "mean_compound", 0), a("beta", "negative_share", 0)

	t.Run("401 on every route, nothing changed", func(t *testing.T) {
		before := e.snapshot()
		wrong := []string{
			"",                                 // no header
			"Bearer",                           // no token
			"Bearer ",                          // empty token
			"Bearer " + tokenA[:len(tokenA)-1], // a prefix
			"Bearer " + tokenA + "x",           // longer
			"Bearer " + strings.ToUpper(tokenA),
			"Bearer " + strings.Repeat("z", len(tokenA)),
			"Basic " + tokenA, // another scheme
			tokenA,            // no scheme
			"Bearer " + TokenReviewer(tokenA),
		}
		routes := []struct{ method, path, body string }{
			{"GET", "/v1/anomalies", ""},
			{"GET", "/v1/anomalies?state=new", ""},
			{"POST", reviewPath(walk), body("acknowledged", "")},
			{"POST", reviewPath(target), body("dismissed", FalsePositive)},
			{"POST", "/v1/anomalies/nope/review", body("acknowledged", "")},
			{"GET", "/v1/review-report", ""},
			{"GET", "/v1/other", ""},
			{"DELETE", reviewPath(walk), ""},
		}
		for _, r := range routes {
			for _, auth := range wrong {
				code, b := e.do(r.method, r.path, auth, r.body)
				if code != http.StatusUnauthorized {
					t.Errorf("%s %s with %q: %d %s; want 401", r.method, r.path, auth, code, b)
				}
				if bytes.Contains(b, []byte("anomal")) && !bytes.Contains(b, []byte("token")) {
					t.Errorf("%s %s: a 401 carries data: %s", r.method, r.path, b)
				}
			}
		}
		if after := e.snapshot(); after != before {
			t.Fatalf("refused requests changed the tables:\nbefore %s\nafter %s", before, after)
		}
		if n := testutil.ToFloat64(e.m.Requests.WithLabelValues("review", "401")); n != float64(3*len(wrong)) {
			t.Errorf("review_requests_total{route=review,code=401} = %v; want %d", n, 3*len(wrong))
		}
		if n := testutil.ToFloat64(e.m.Requests.WithLabelValues("other", "401")); n != float64(2*len(wrong)) {
			t.Errorf("review_requests_total{route=other,code=401} = %v; want %d", n, 2*len(wrong))
		}
	})

	t.Run("each allowed transition", func(t *testing.T) {
		steps := []struct {
			state  State
			reason Reason
			token  string
		}{
			{Acknowledged, "", tokenA},
			{Confirmed, "", tokenB},
			{Acknowledged, "", tokenA}, // reopened
			{Dismissed, FalsePositive, tokenB},
			{Acknowledged, "", tokenA}, // reopened
			{Dismissed, Expected, tokenA},
		}
		prev := e.state(walk)
		for _, s := range steps {
			code, b := e.do("POST", reviewPath(walk), "Bearer "+s.token, body(string(s.state), s.reason))
			if code != http.StatusOK {
				t.Fatalf("%s -> %s: %d %s", prev.State, s.state, code, b)
			}
			var it Item
			if err := json.Unmarshal(b, &it); err != nil || it.Key != walk.Key() || it.State != s.state || it.Reason != s.reason ||
				it.Reviewer != TokenReviewer(s.token) || it.ReviewedAt == nil || it.Explanation != walk.Explanation {
				t.Fatalf("%s -> %s: answer %s (%v)", prev.State, s.state, b, err)
			}
			got := e.state(walk)
			if got.State != s.state || got.Reason != s.reason || got.Reviewer != TokenReviewer(s.token) || !got.ReviewedAt.After(prev.ReviewedAt) {
				t.Fatalf("%s -> %s: stored %+v", prev.State, s.state, got)
			}
			prev = got
		}
	})

	t.Run("each refused transition: 409, nothing changed", func(t *testing.T) {
		// One anomaly in each state.
		inState := map[State]store.Anomaly{New: a("gamma", "messages", 2)}
		set := func(an store.Anomaly, s State, r Reason) {
			t.Helper()
			if code, b := e.do("POST", reviewPath(an), bearerA, body(string(s), r)); code != http.StatusOK {
				t.Fatalf("set %s: %d %s", s, code, b)
			}
		}
		inState[Acknowledged] = a("alpha", "mean_compound", 1)
		set(inState[Acknowledged], Acknowledged, "")
		inState[Confirmed] = target
		set(target, Acknowledged, "")
		set(target, Confirmed, "")
		inState[Dismissed] = a("beta", "negative_share", 1)
		set(inState[Dismissed], Acknowledged, "")
		set(inState[Dismissed], Dismissed, Duplicate)

		refused := 0
		for _, from := range States {
			for _, to := range []State{Acknowledged, Confirmed, Dismissed} {
				if Allowed(from, to) {
					continue
				}
				refused++
				before := e.snapshot()
				reason := NoReason
				if to == Dismissed {
					reason = Other
				}
				code, b := e.do("POST", reviewPath(inState[from]), bearerA, body(string(to), reason))
				var eb errorBody
				_ = json.Unmarshal(b, &eb)
				if code != http.StatusConflict || eb.State != from {
					t.Errorf("%s -> %s: %d %s; want 409 naming the state %s", from, to, code, b, from)
				}
				if after := e.snapshot(); after != before {
					t.Errorf("%s -> %s: refused, but the tables changed", from, to)
				}
			}
		}
		if refused != 7 {
			t.Errorf("%d refused transitions tried; the table has 7", refused)
		}
	})

	t.Run("404 and 400, nothing changed", func(t *testing.T) {
		before := e.snapshot()
		ghost := a("delta", "messages", 0)
		for _, tc := range []struct {
			method, path, body string
			want               int
		}{
			{"POST", reviewPath(ghost), body("acknowledged", ""), http.StatusNotFound},
			{"POST", "/v1/anomalies/not-a-key/review", body("acknowledged", ""), http.StatusNotFound},
			{"POST", reviewPath(a("gamma", "messages", 3)), body("acknowledged", ""), http.StatusNotFound}, // a day without the anomaly
			{"POST", reviewPath(ghost), "{", http.StatusBadRequest},
			{"POST", reviewPath(walk), "", http.StatusBadRequest},
			{"POST", reviewPath(walk), `{"state": "acknowledged", "note": "Jo is off sick"}`, http.StatusBadRequest},
			{"POST", reviewPath(walk), `{"state": "acknowledged"} {"state": "confirmed"}`, http.StatusBadRequest},
			{"POST", reviewPath(walk), `["acknowledged"]`, http.StatusBadRequest},
			{"POST", reviewPath(walk), `{"state": "closed"}`, http.StatusBadRequest},
			{"POST", reviewPath(walk), `{"state": "new"}`, http.StatusBadRequest},
			{"POST", reviewPath(walk), body("dismissed", ""), http.StatusBadRequest},
			{"POST", reviewPath(walk), `{"state": "dismissed", "reason": "Jo is off sick"}`, http.StatusBadRequest},
			{"POST", reviewPath(walk), body("confirmed", FalsePositive), http.StatusBadRequest},
			{"POST", reviewPath(walk), `{"state": "acknowledged", "reason": "` + strings.Repeat("x", 5000) + `"}`, http.StatusBadRequest},
			{"GET", "/v1/anomalies?state=open", "", http.StatusBadRequest},
			{"GET", "/v1/anomalies?from=yesterday", "", http.StatusBadRequest},
			{"GET", "/v1/anomalies?limit=0", "", http.StatusBadRequest},
			{"GET", "/v1/review-report?to=soon", "", http.StatusBadRequest},
		} {
			code, b := e.do(tc.method, tc.path, bearerA, tc.body)
			if code != tc.want {
				t.Errorf("%s %s %.60s: %d %s; want %d", tc.method, tc.path, tc.body, code, b, tc.want)
			}
		}
		if after := e.snapshot(); after != before {
			t.Fatalf("404/400 requests changed the tables:\nbefore %s\nafter %s", before, after)
		}
	})

	t.Run("list", func(t *testing.T) {
		list := func(q string) []Item {
			t.Helper()
			code, b := e.do("GET", "/v1/anomalies"+q, bearerA, "")
			if code != http.StatusOK {
				t.Fatalf("list %s: %d %s", q, code, b)
			}
			var out struct{ Anomalies []Item }
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			return out.Anomalies
		}
		if all := list(""); len(all) != 6 || all[0].Key != a("gamma", "messages", 2).Key() {
			t.Errorf("list: %d anomalies, first %v; want 6, newest first", len(all), all)
		}
		for state, want := range map[State]int{New: 2, Acknowledged: 1, Confirmed: 1, Dismissed: 2} {
			got := list("?state=" + string(state))
			if len(got) != want {
				t.Errorf("list state=%s: %d; want %d", state, len(got), want)
			}
			for _, it := range got {
				if it.State != state || fmt.Sprint(it.Next) != fmt.Sprint(Next(state)) {
					t.Errorf("list state=%s: %s in %s, next %v", state, it.Key, it.State, it.Next)
				}
			}
		}
		if got := list("?from=" + e.day.AddDate(0, 0, 1).Format(time.DateOnly) + "&limit=1"); len(got) != 1 || got[0].Key != a("gamma", "messages", 2).Key() {
			t.Errorf("list from day 1, limit 1: %v", got)
		}
	})

	// An early warning is a row of anomalies like any other: listed with
	// its forecast's explanation, reviewed through the same transitions,
	// counted in the report under its metric.
	t.Run("an early warning", func(t *testing.T) {
		w := earlyWarning(e.day, "delta", -1)
		for _, s := range []struct {
			state  State
			reason Reason
		}{{Acknowledged, ""}, {Dismissed, FalsePositive}} {
			code, b := e.do("POST", reviewPath(w), bearerA, body(string(s.state), s.reason))
			var it Item
			if err := json.Unmarshal(b, &it); code != http.StatusOK || err != nil || it.State != s.state || it.Explanation != w.Explanation {
				t.Fatalf("%s: %d %s (%v)", s.state, code, b, err)
			}
		}
		if got := e.state(w); got.State != Dismissed || got.Reason != FalsePositive {
			t.Errorf("stored %+v", got)
		}
		code, b := e.do("GET", "/v1/review-report", bearerA, "")
		if code != http.StatusOK || !bytes.Contains(b, []byte(`"forecast_belonging"`)) {
			t.Errorf("report: %d %s; want a row of forecast_belonging", code, b)
		}
	})
}

// earlyWarning is an early warning as analyze stores it (detector
// forecast, metric forecast_belonging; see analyze/forecast.go).
func earlyWarning(day time.Time, team string, d int) store.Anomaly {
	return store.Anomaly{WindowStart: day.AddDate(0, 0, d), Granularity: store.Day, Team: team, Metric: store.WarningMetricPrefix + store.ForecastBelonging,
		Value: 31, Expected: 40, Low: 24, High: 38, Score: 0.5, Severity: store.Warning, Direction: "down", Detector: store.DetectorForecast,
		Explanation: "Early warning: " + team + "'s belonging index is likely to fall below 40 tomorrow.", DetectedAt: day.AddDate(0, 0, d+1)}
}

// The report: per metric, counts per state and the reviewers' precision
// (confirmed over confirmed plus dismissed as false positive), through the
// API and the store.
func TestReviewReportPrecision(t *testing.T) {
	var as []store.Anomaly
	e := newAPI(t, func(day time.Time) []store.Anomaly {
		for d := range 6 {
			as = append(as, anomaly(day, "alpha", "mean_compound", d))
		}
		as = append(as, anomaly(day, "beta", "negative_share", 0), anomaly(day, "beta", "negative_share", 1), anomaly(day, "gamma", "messages", 0))
		return as
	})
	judge := func(an store.Anomaly, s State, r Reason) {
		t.Helper()
		for _, step := range []SetRequest{{State: "acknowledged"}, {State: string(s), Reason: string(r)}} {
			if code, b := e.do("POST", reviewPath(an), bearerA, body(step.State, Reason(step.Reason))); code != http.StatusOK {
				t.Fatalf("%s: %d %s", step.State, code, b)
			}
		}
	}
	// mean_compound: 3 confirmed, 1 false positive, 1 expected (outside
	// precision), 1 new: precision 3/4.
	judge(as[0], Confirmed, "")
	judge(as[1], Confirmed, "")
	judge(as[2], Confirmed, "")
	judge(as[3], Dismissed, FalsePositive)
	judge(as[4], Dismissed, Expected)
	// negative_share: 1 false positive, 1 acknowledged only: precision 0.
	judge(as[6], Dismissed, FalsePositive)
	if code, _ := e.do("POST", reviewPath(as[7]), bearerA, body("acknowledged", "")); code != http.StatusOK {
		t.Fatal(code)
	}
	// messages: nothing judged: no precision.

	code, b := e.do("GET", "/v1/review-report", bearerA, "")
	if code != http.StatusOK {
		t.Fatalf("report: %d %s", code, b)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	byMetric := map[string]MetricReport{}
	for _, m := range rep.Metrics {
		byMetric[m.Metric] = m
	}
	prec := func(p *float64) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprintf("%.3f", *p)
	}
	for metric, want := range map[string]string{
		"mean_compound":  "anomalies 6 new 1 ack 0 confirmed 3 dismissed 2 fp 1 expected 1 precision 0.750",
		"negative_share": "anomalies 2 new 0 ack 1 confirmed 0 dismissed 1 fp 1 expected 0 precision 0.000",
		"messages":       "anomalies 1 new 1 ack 0 confirmed 0 dismissed 0 fp 0 expected 0 precision null",
		"all":            "anomalies 9 new 2 ack 1 confirmed 3 dismissed 3 fp 2 expected 1 precision 0.600",
	} {
		m, ok := byMetric[metric]
		if metric == "all" {
			m, ok = rep.Total, true
		}
		got := fmt.Sprintf("anomalies %d new %d ack %d confirmed %d dismissed %d fp %d expected %d precision %s", m.Anomalies, m.New,
			m.Acknowledged, m.Confirmed, m.Dismissed, m.DismissedBy[FalsePositive], m.DismissedBy[Expected], prec(m.Precision))
		if !ok || got != want {
			t.Errorf("%s: %s; want %s", metric, got, want)
		}
	}
	if len(rep.Metrics) != 3 {
		t.Errorf("report has %d metrics; want 3", len(rep.Metrics))
	}
	// A period without the judged anomalies.
	code, b = e.do("GET", "/v1/review-report?from="+e.day.AddDate(0, 0, 5).Format(time.DateOnly), bearerA, "")
	if err := json.Unmarshal(b, &rep); code != http.StatusOK || err != nil || rep.Total.Anomalies != 1 || rep.Total.New != 1 || rep.From == nil {
		t.Errorf("report from day 5: %d %s", code, b)
	}
}
