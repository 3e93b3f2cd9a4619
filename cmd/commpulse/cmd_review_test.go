package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"commpulse/pipeline/review"
	"commpulse/pipeline/store"
	"commpulse/pipeline/store/storetest"
)

// review list, set and report against a real ClickHouse: the states move
// as the state machine says, a refused move exits 1 and changes nothing,
// bad input exits 2, and the report shows the precision per metric.
func TestReviewCLI(t *testing.T) {
	st, srv, db := storetest.Migrated(t)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -7)
	var as []store.Anomaly
	for i, m := range []string{"mean_compound", "mean_compound", "negative_share"} {
		as = append(as, store.Anomaly{WindowStart: day.AddDate(0, 0, i), Granularity: store.Day, Team: "alpha", Metric: m,
			Value: 0.1, Expected: 0.3, Low: 0.2, High: 0.4, Score: 0.9, Severity: store.Critical, Direction: "down", Detector: "level",
			Explanation: "alpha: fell", DetectedAt: day.AddDate(0, 0, i+1)})
	}
	if err := st.WriteAnomalies(ctx, store.Day, day, day.AddDate(0, 0, 3), as); err != nil {
		t.Fatal(err)
	}
	ch := []string{"--ch-addr", srv.Addr(), "--ch-database", db}
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(append(append([]string{"review"}, args...), ch...), &out, &errb)
		return code, out.String(), errb.String()
	}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := cli(args...)
		if code != 0 {
			t.Fatalf("review %v: exit %d: %s", args, code, errs)
		}
		return out
	}
	k0, k1, k2 := as[0].Key(), as[1].Key(), as[2].Key()

	if out := ok("list", "--state", "new"); strings.Count(out, "alpha|") != 3 {
		t.Fatalf("list --state new:\n%s", out)
	}
	ok("set", k0, "acknowledged")
	if out := ok("set", k0, "--reason", "false_positive", "dismissed"); !strings.Contains(out, k0+": dismissed (false_positive)") {
		t.Errorf("set dismissed: %q", out)
	}
	ok("set", k1, "acknowledged")
	ok("set", k1, "confirmed")
	ok("set", k2, "acknowledged")

	// Refused: a transition (exit 1), bad input (exit 2), a missing anomaly (exit 1).
	before := ok("list", "--json")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"set", k1, "dismissed", "--reason", "other"}, 1, "confirmed: it may move to [acknowledged]"},
		{[]string{"set", k2, "new"}, 2, "bad review state"},
		{[]string{"set", k2, "closed"}, 2, "bad review state"},
		{[]string{"set", k2, "dismissed"}, 2, "bad dismissal reason"},
		{[]string{"set", k2, "dismissed", "--reason", "Jo is off sick"}, 2, "bad dismissal reason"},
		{[]string{"set", k2, "confirmed", "--reason", "expected"}, 2, "only a dismissal has a reason"},
		{[]string{"set", k2}, 2, "want KEY STATE"},
		{[]string{"set", "beta|messages|day|" + day.Format(time.RFC3339), "acknowledged"}, 1, "not found"},
		{[]string{"list", "--state", "open"}, 2, "bad review state"},
		{[]string{"report", "--from", "last week"}, 2, "from"},
		{[]string{"frobnicate"}, 2, "unknown subcommand"},
	} {
		code, _, errs := cli(tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("review %v: exit %d %q; want %d with %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
	if after := ok("list", "--json"); after != before {
		t.Errorf("refused commands changed the reviews:\n%s\n%s", before, after)
	}
	var it review.Item
	for _, line := range strings.Split(strings.TrimSpace(before), "\n") {
		if err := json.Unmarshal([]byte(line), &it); err != nil {
			t.Fatal(err)
		}
		if it.Key == k1 && (it.State != review.Confirmed || it.Reviewer != review.CLIReviewer) {
			t.Errorf("list --json: %s", line)
		}
	}

	out := ok("report")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\s*mean_compound\s+2\s+0\s+0\s+1\s+1\s+0\s+0\s+0\s+0\.500\s*$`),
		regexp.MustCompile(`(?m)^\s*negative_share\s+1\s+0\s+1\s+0\s+0\s+0\s+0\s+0\s+-\s*$`),
		regexp.MustCompile(`(?m)^\s*all\s+3\s+0\s+1\s+1\s+1\s+0\s+0\s+0\s+0\.500\s*$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("report lacks %s:\n%s", want, out)
		}
	}
	var rep review.Report
	if err := json.Unmarshal([]byte(ok("report", "--json")), &rep); err != nil || rep.Total.Precision == nil || *rep.Total.Precision != 0.5 {
		t.Errorf("report --json: %+v, %v", rep, err)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's log and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// review serve: the API answers 401 without the token and 200 with it,
// never logs the token, and shuts down cleanly when its context ends.
func TestReviewServe(t *testing.T) {
	_, srv, db := storetest.Migrated(t)
	token := "serve-token-0123456789abcdef0123456789"
	tokFile := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runReviewServe(ctx, []string{"--addr", "127.0.0.1:0", "--review-token-file", tokFile, "--http-addr", "",
			"--ch-addr", srv.Addr(), "--ch-database", db}, io.Discard, &stderr)
	}()
	addrRE := regexp.MustCompile(`review API serving" addr=(\S+)`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	get := func(auth string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/v1/review-report", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	if code := get("Bearer " + token); code != http.StatusOK {
		t.Errorf("token: %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	if strings.Contains(stderr.String(), token) {
		t.Error("the token is in the log")
	}
}
