package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/ingest"
)

func TestParseFlagsEnv(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		wantRows int
		wantIvl  time.Duration
		wantErr  string
	}{
		{name: "defaults", wantRows: ingest.Defaults().BatchRows, wantIvl: time.Second},
		{name: "env", env: map[string]string{"COMMPULSE_BATCH_ROWS": "42"}, wantRows: 42, wantIvl: time.Second},
		{name: "flag wins over env", args: []string{"--batch-rows=7"}, env: map[string]string{"COMMPULSE_BATCH_ROWS": "42"}, wantRows: 7, wantIvl: time.Second},
		{name: "bad env names the variable", env: map[string]string{"COMMPULSE_BATCH_INTERVAL": "soon"}, wantErr: "COMMPULSE_BATCH_INTERVAL"},
		{name: "bad flag", args: []string{"--batch-rows=x"}, wantErr: "batch-rows"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
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
			if f.cfg.BatchRows != tc.wantRows || f.cfg.BatchInterval != tc.wantIvl {
				t.Fatalf("batch-rows=%d batch-interval=%s", f.cfg.BatchRows, f.cfg.BatchInterval)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	if got := envName("ch-password-file"); got != "COMMPULSE_CH_PASSWORD_FILE" {
		t.Fatal(got)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"nope"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("code %d, stderr %q", code, errb.String())
	}
}
