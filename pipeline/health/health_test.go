package health

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "commpulse_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	var ready atomic.Bool
	srv, err := Listen("127.0.0.1:0", reg, func() error {
		if !ready.Load() {
			return errors.New("clickhouse unreachable")
		}
		return nil
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		path  string
		ready bool
		code  int
		body  string
	}{
		{"/healthz", false, 200, "ok"},
		{"/readyz", false, 503, "clickhouse unreachable"},
		{"/readyz", true, 200, "ready"},
		{"/metrics", true, 200, "commpulse_test_total 3"},
	} {
		ready.Store(tc.ready)
		code, body := get(tc.path)
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s (ready=%v) = %d %q, want %d containing %q", tc.path, tc.ready, code, body, tc.code, tc.body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after shutdown: %v", err)
	}
}

func TestListenBusyPort(t *testing.T) {
	a, err := Listen("127.0.0.1:0", prometheus.NewRegistry(), func() error { return nil }, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer a.ln.Close()
	if _, err := Listen(a.Addr(), prometheus.NewRegistry(), func() error { return nil }, slog.Default()); err == nil {
		t.Fatal("listening twice on one port succeeded")
	}
}
