package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"commpulse/anomaly"
	"commpulse/anomaly/nab"
)

var miniNAB = filepath.Join("..", "..", "anomaly", "nab", "testdata", "mini")

func scoreFile(t *testing.T, input string) [][]string {
	t.Helper()
	var out bytes.Buffer
	if err := scoreCSV(context.Background(), strings.NewReader(input), &out, anomaly.DefaultConfig(), false); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestAnomalyScoreCSV(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(miniNAB, "data", "synthetic", "spike.csv"))
	if err != nil {
		t.Fatal(err)
	}
	in := string(raw)
	inLines := strings.Split(strings.TrimSpace(in), "\n")
	got := scoreFile(t, in)
	if len(got) != len(inLines) {
		t.Fatalf("%d output rows for %d input rows", len(got), len(inLines))
	}
	if strings.Join(got[0], ",") != "timestamp,value,anomaly_score" {
		t.Fatalf("header %q", got[0])
	}
	// Same scores as the detector API used by the NAB evaluation.
	corpus, err := nab.Load(miniNAB)
	if err != nil {
		t.Fatal(err)
	}
	scored, err := nab.Detect(corpus, anomaly.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var want []float64
	for _, s := range scored {
		if s.Name == "synthetic/spike.csv" {
			want = s.Scores
		}
	}
	for i, rec := range got[1:] {
		if rec[0]+","+rec[1] != inLines[i+1] {
			t.Fatalf("row %d: echoed %q, input %q", i, rec[:2], inLines[i+1])
		}
		sc, err := strconv.ParseFloat(rec[2], 64)
		if err != nil || sc < 0 || sc > 1 {
			t.Fatalf("row %d: score %q not in [0,1] (%v)", i, rec[2], err)
		}
		if sc != want[i] {
			t.Fatalf("row %d: CSV score %v, detector score %v", i, sc, want[i])
		}
	}

	// Streaming: a row's score must not depend on later rows.
	prefix := scoreFile(t, strings.Join(inLines[:700], "\n")+"\n")
	for i := range prefix {
		if strings.Join(prefix[i], ",") != strings.Join(got[i], ",") {
			t.Fatalf("row %d changed when later rows were removed: %q vs %q", i, prefix[i], got[i])
		}
	}
}

func TestAnomalyScoreBadInput(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"bad time", "timestamp,value\nyesterday,3\n", "line 2"},
		{"bad value", "2024-01-01 00:00:00,abc\n", "value"},
		{"one field", "2024-01-01 00:00:00\n", "want timestamp,value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := scoreCSV(context.Background(), strings.NewReader(tc.in), &bytes.Buffer{}, anomaly.DefaultConfig(), false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestNABCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"nab", "--data", miniNAB}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, p := range nab.Profiles {
		if !strings.Contains(out.String(), p.Name) {
			t.Errorf("output lacks profile %s:\n%s", p.Name, out.String())
		}
	}
	if code := run([]string{"nab", "--data", miniNAB, "--detectors", "nope"}, &out, &errb); code != 2 {
		t.Errorf("unknown detector: exit %d, want 2", code)
	}
}

// Rows scored before a bad row are written, and the error names the line.
func TestAnomalyScoreKeepsRowsBeforeAnError(t *testing.T) {
	in := "timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:05:00,1.2\nbad,row\n"
	var out strings.Builder
	err := scoreCSV(context.Background(), strings.NewReader(in), &out, anomaly.DefaultConfig(), false)
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("err = %v, want one naming line 4", err)
	}
	if got := strings.Count(out.String(), "\n"); got != 3 {
		t.Fatalf("wrote %d lines before the error, want header + 2 rows:\n%s", got, out.String())
	}
}

// --profile team scores rows as anomaly.Team does, streaming, on hourly
// and daily input alike.
func TestAnomalyScoreTeamProfile(t *testing.T) {
	for _, step := range []time.Duration{time.Hour, 24 * time.Hour} {
		var in strings.Builder
		in.WriteString("timestamp,value\n")
		t0 := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
		var ts []time.Time
		var vs []float64
		for i := range 24 * 40 {
			tt := t0.Add(time.Duration(i) * step)
			v := 5 + 2*math.Sin(2*math.Pi*float64(tt.Hour())/24) + float64((i*7919)%13)/13
			if i > 24*30 && i < 24*30+3 {
				v += 30
			}
			ts, vs = append(ts, tt), append(vs, v)
			fmt.Fprintf(&in, "%s,%v\n", tt.Format("2006-01-02 15:04:05"), v)
		}
		obs, err := newObserver("team", "auto", "both")
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := scoreCSVWith(context.Background(), strings.NewReader(in.String()), &out, obs, true); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		d, _ := anomaly.NewTeam(anomaly.TeamProfile())
		alarms := 0
		for i, rec := range recs[1:] {
			e := d.Observe(ts[i], vs[i])
			if rec[2] != strconv.FormatFloat(e.Score, 'f', -1, 64) || rec[7] != e.Detector {
				t.Fatalf("step %v row %d: CSV %q, Team %+v", step, i, rec, e)
			}
			if e.Alarm {
				alarms++
			}
		}
		if d.Granularity() == anomaly.GranularityAuto || alarms == 0 {
			t.Fatalf("step %v: granularity %v, %d alarms", step, d.Granularity(), alarms)
		}
	}
}

func TestAnomalyScoreProfileFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--profile", "bogus"},
		{"--profile", "team", "--granularity", "week"},
		{"--profile", "team", "--direction", "sideways"},
		{"--granularity", "day"},
		{"--seasonal", "--profile", "team"},
	} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"anomaly-score"}, args...), &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
	// --seasonal is --profile seasonal.
	a, _ := newObserver("seasonal", "auto", "both")
	d, _ := anomaly.New(anomaly.SeasonalConfig())
	t0 := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	for i := range 800 {
		tt := t0.Add(time.Duration(i) * time.Hour)
		v := float64(i%24) + float64((i*31)%7)
		if got, want := a(tt, v).score, d.Observe(tt, v).Score; got != want {
			t.Fatalf("row %d: seasonal profile %v, SeasonalConfig %v", i, got, want)
		}
	}
}
