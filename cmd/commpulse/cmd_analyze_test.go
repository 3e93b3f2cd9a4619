package main

import (
	"testing"
	"time"

	"commpulse/network"
)

func TestAnalyzeFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr bool
		check   func(t *testing.T, f analyzeFlags)
	}{
		{name: "defaults", check: func(t *testing.T, f analyzeFlags) {
			cfg, err := f.config()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Privacy.K != 5 || cfg.LatenessHour != 10*time.Minute || cfg.LatenessDay != time.Hour || !cfg.Since.IsZero() {
				t.Fatalf("defaults: %+v", cfg)
			}
		}},
		{name: "k alias and since", args: []string{"--min-group-size", "7", "--since", "2026-11-02"}, check: func(t *testing.T, f analyzeFlags) {
			cfg, err := f.config()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Privacy.K != 7 || !cfg.Since.Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("got k %d since %s", cfg.Privacy.K, cfg.Since)
			}
		}},
		{name: "env", env: map[string]string{"COMMPULSE_K": "9", "COMMPULSE_LATENESS_DAY": "2h"}, check: func(t *testing.T, f analyzeFlags) {
			if f.cfg.Privacy.K != 9 || f.cfg.LatenessDay != 2*time.Hour {
				t.Fatalf("env not applied: k %d lateness %s", f.cfg.Privacy.K, f.cfg.LatenessDay)
			}
		}},
		{name: "bad since", args: []string{"--since", "yesterday"}, wantErr: true},
		{name: "k of one", args: []string{"--k", "1"}, wantErr: true},
		{name: "k of two is refused (finding: --k 2 was accepted)", args: []string{"--k", "2"}, wantErr: true},
		{name: "k of four is refused", env: map[string]string{"COMMPULSE_K": "4"}, wantErr: true},
		{name: "epsilon override", args: []string{"--privacy-epsilon", "day-sentiment=3,hour-messages=0"}, check: func(t *testing.T, f analyzeFlags) {
			if f.cfg.Privacy.Epsilon.DaySentiment != 3 || f.cfg.Privacy.Epsilon.HourMessages != 0 {
				t.Fatalf("epsilon not applied: %+v", f.cfg.Privacy.Epsilon)
			}
		}},
		{name: "unknown epsilon figure", args: []string{"--privacy-epsilon", "day-names=1"}, wantErr: true},
		{name: "zero lateness", args: []string{"--lateness-hour", "0s"}, wantErr: true},
		{name: "bad hours", args: []string{"--work-start-hour", "19"}, wantErr: true},
		{name: "broadcast default", check: func(t *testing.T, f analyzeFlags) {
			if n := f.cfg.Network.BroadcastMaxRecipients; n != network.DefaultBroadcastMaxRecipients {
				t.Fatalf("broadcast max recipients %d, want %d", n, network.DefaultBroadcastMaxRecipients)
			}
		}},
		{name: "broadcast max", args: []string{"--broadcast-max-recipients", "60"}, check: func(t *testing.T, f analyzeFlags) {
			cfg, err := f.config()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Network.BroadcastMaxRecipients != 60 || cfg.Network.Seed != 1 {
				t.Fatalf("network config %+v", cfg.Network)
			}
		}},
		{name: "zero broadcast max", args: []string{"--broadcast-max-recipients", "0"}, wantErr: true},
		{name: "negative broadcast max", env: map[string]string{"COMMPULSE_BROADCAST_MAX_RECIPIENTS": "-1"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFlagSet("analyze", nil)
			var f analyzeFlags
			f.bind(fs)
			err := parseFlagsEnv(fs, tc.args, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if err == nil {
				_, err = f.config()
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
}
