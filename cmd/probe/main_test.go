package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			http.Error(w, "not ready: kafka", http.StatusServiceUnavailable)
		case "/healthz":
			w.Write([]byte("ok\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"healthy", []string{srv.URL + "/healthz"}, 0, ""},
		{"not ready", []string{srv.URL + "/readyz"}, 1, "503 Service Unavailable: not ready: kafka"},
		{"not found", []string{srv.URL + "/nope"}, 1, "404"},
		{"refused", []string{closed.URL + "/healthz"}, 1, "connection refused"},
		{"bad url", []string{"::"}, 1, "missing protocol scheme"},
		{"two args", []string{"a", "b"}, 2, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			if code := run(tc.args, &stderr); code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if tc.wantErr != "" && !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tc.wantErr)
			}
			if tc.wantErr == "" && stderr.Len() != 0 {
				t.Errorf("unexpected stderr %q", stderr.String())
			}
		})
	}
}
