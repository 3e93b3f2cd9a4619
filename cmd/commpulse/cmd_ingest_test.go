package main

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/event"
)

// --pseudonym-pattern and --dlq-retention reach the ingest config, from the
// command line or the environment, and a bad pattern fails at start.
func TestIngestPrivacyFlags(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		env       map[string]string
		accept    string // an id the resulting policy accepts
		reject    string // and one it rejects
		retention time.Duration
		wantErr   string
	}{
		{name: "defaults", accept: "p_5f2c9a1e0b7d4c38", reject: "jsmith", retention: 7 * 24 * time.Hour},
		{name: "flag", args: []string{"--pseudonym-pattern", `[0-9]{8}`, "--dlq-retention", "36h"},
			accept: "20240115", reject: "p_5f2c9a1e0b7d4c38", retention: 36 * time.Hour},
		{name: "env", env: map[string]string{"COMMPULSE_PSEUDONYM_PATTERN": `[a-z]+-[a-z]+`, "COMMPULSE_DLQ_RETENTION": "24h"},
			accept: "happy-turtle", reject: "happy-turtle-2", retention: 24 * time.Hour},
		{name: "bad pattern names the variable", env: map[string]string{"COMMPULSE_PSEUDONYM_PATTERN": `(`}, wantErr: "COMMPULSE_PSEUDONYM_PATTERN"},
		{name: "pattern matching everything empty", args: []string{"--pseudonym-pattern", `.*`}, wantErr: "pseudonym-pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sb strings.Builder
			fs := newFlagSet("ingest", &sb)
			var f ingestFlags
			f.bind(fs)
			err := parseFlagsEnv(fs, tc.args, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr != "" {
				var ue usageError
				if err == nil || !strings.Contains(err.Error()+sb.String(), tc.wantErr) || !errors.As(err, &ue) {
					t.Fatalf("err = %v (output %q), want a usage error mentioning %q", err, sb.String(), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := f.config(slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if !event.IsPseudonym(tc.accept, cfg.Limits) || event.IsPseudonym(tc.reject, cfg.Limits) {
				t.Fatalf("policy %v: accepts %q %v, rejects %q %v", cfg.Limits.Pseudonym, tc.accept,
					event.IsPseudonym(tc.accept, cfg.Limits), tc.reject, !event.IsPseudonym(tc.reject, cfg.Limits))
			}
			if cfg.DLQRetention != tc.retention {
				t.Fatalf("DLQ retention %s, want %s", cfg.DLQRetention, tc.retention)
			}
		})
	}
}

// --stall-timeout reaches the ingest config from the command line or the
// environment, and the config refuses a value the watchdog cannot judge.
func TestIngestStallTimeoutFlag(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    time.Duration
		wantErr bool
	}{
		{name: "default", want: 2 * time.Minute},
		{name: "flag", args: []string{"--stall-timeout", "5m"}, want: 5 * time.Minute},
		{name: "env", env: map[string]string{"COMMPULSE_STALL_TIMEOUT": "90s"}, want: 90 * time.Second},
		{name: "too short for the lag poll", args: []string{"--stall-timeout", "6s"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sb strings.Builder
			fs := newFlagSet("ingest", &sb)
			var f ingestFlags
			f.bind(fs)
			if err := parseFlagsEnv(fs, tc.args, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }); err != nil {
				t.Fatal(err)
			}
			cfg, err := f.config(slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); (err != nil) != tc.wantErr {
				t.Fatalf("validate: %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && cfg.StallTimeout != tc.want {
				t.Fatalf("stall timeout %s, want %s", cfg.StallTimeout, tc.want)
			}
		})
	}
}
