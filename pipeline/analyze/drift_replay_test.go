package analyze

import (
	"commpulse/pipeline/publish"

	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"commpulse/anomaly"
)

// TestReplayDumps is a development aid: it replays the day team_stats rows
// written by the end-to-end test (COMMPULSE_E2E_DUMP) through the daily
// detectors, without Kafka or ClickHouse, and scores them like the
// end-to-end test. COMMPULSE_REPLAY is a glob of dump files;
// COMMPULSE_DRIFT overrides drift fields (shift=,h=,conf=).
func TestReplayDumps(t *testing.T) {
	glob := os.Getenv("COMMPULSE_REPLAY")
	if glob == "" {
		t.Skip("set COMMPULSE_REPLAY to a glob of end-to-end dumps")
	}
	dc := anomaly.DefaultDriftConfig()
	if env := os.Getenv("COMMPULSE_DRIFT"); env != "" {
		for kv := range strings.SplitSeq(env, ",") {
			k, v, _ := strings.Cut(kv, "=")
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			switch k {
			case "shift":
				dc.Shift = f
			case "h":
				dc.Threshold = f
			case "conf":
				dc.VarianceConfidence = f
			case "release":
				dc.Release = f
			case "minref":
				dc.MinReference = int(f)
			case "wk":
				dc.MinWeekendMessages = int(f)
			default:
				t.Fatalf("unknown drift field %q", k)
			}
		}
	}
	files, _ := filepath.Glob(glob)
	sort.Strings(files)
	var TP, FP, FN int
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(fh)
		r.Comma = '\t'
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		b := newBank(Day, DailyDetector(), &dc, publish.DayNoise{})
		var tp, fp, fn int
		var notes []string
		evalFrom := e2eStart.AddDate(0, 0, 14)
		for _, rec := range recs[1:] {
			day, _ := time.Parse(time.DateOnly, rec[1])
			num := func(i int) float64 { v, _ := strconv.ParseFloat(rec[i], 64); return v }
			s := TeamStats{WindowStart: day, Granularity: Day, Team: rec[0], Messages: num(3),
				ActiveMembers: uint32(num(4)), ScoredMessages: num(5), MeanCompound: num(6), NegativeShare: num(7)}
			got := b.observeStats(s, 50)
			var names []string
			for _, a := range got {
				names = append(names, fmt.Sprintf("%s/%s(%.3f vs %.3f, %.2f)", a.Metric, a.Detector, a.Value, a.Expected, a.Score))
			}
			for _, old := range strings.Split(rec[9], ",") {
				if strings.HasPrefix(old, MetricExternalShare) || strings.HasPrefix(old, MetricIsolatedMembers) {
					names = append(names, old[:strings.Index(old, "(")])
				}
			}
			if day.Before(evalFrom) {
				continue
			}
			planted := rec[8] != ""
			switch {
			case planted && len(names) > 0:
				tp++
				if strings.Contains(rec[8], "decline") {
					notes = append(notes, fmt.Sprintf("  hit  %s %s %s n=%s neg=%s %v", rec[0], rec[1], rec[2], rec[5], rec[7], names))
				}
			case planted:
				fn++
				notes = append(notes, fmt.Sprintf("  MISS %s %s %s %s n=%s neg=%s", rec[0], rec[1], rec[2], rec[8], rec[5], rec[7]))
			case len(names) > 0:
				fp++
				notes = append(notes, fmt.Sprintf("  FA   %s %s %s n=%s neg=%s comp=%s %v", rec[0], rec[1], rec[2], rec[5], rec[7], rec[6], names))
			}
		}
		TP, FP, FN = TP+tp, FP+fp, FN+fn
		t.Logf("%s: tp %d fp %d fn %d precision %.3f recall %.3f", filepath.Base(f), tp, fp, fn,
			float64(tp)/float64(max(1, tp+fp)), float64(tp)/float64(max(1, tp+fn)))
		if testing.Verbose() {
			for _, n := range notes {
				t.Log(n)
			}
		}
	}
	t.Logf("all: tp %d fp %d fn %d precision %.3f recall %.3f", TP, FP, FN,
		float64(TP)/float64(max(1, TP+FP)), float64(TP)/float64(max(1, TP+FN)))
}

// TestTraceDrift prints the negative-share drift verdicts of one team of
// one dump (COMMPULSE_TRACE=file:team), a development aid.
func TestTraceDrift(t *testing.T) {
	spec := os.Getenv("COMMPULSE_TRACE")
	if spec == "" {
		t.Skip("set COMMPULSE_TRACE=file:team")
	}
	file, team, _ := strings.Cut(spec, ":")
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	r.Comma = '\t'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	d, _ := anomaly.NewDrift(anomaly.DefaultDriftConfig(), anomaly.DriftShare, anomaly.Up)
	for _, rec := range recs[1:] {
		if rec[0] != team {
			continue
		}
		day, _ := time.Parse(time.DateOnly, rec[1])
		n, _ := strconv.Atoi(rec[5])
		v, _ := strconv.ParseFloat(rec[7], 64)
		e := d.Observe(day, v, n)
		t.Logf("%s %s n=%4d v=%.3f exp=%.3f band=%.3f z=%5.1f S=%5.2f alarm=%v score=%.2f %s", rec[1], rec[2], n, v, e.Expected, e.High, e.Z, e.Statistic, e.Alarm, e.Score, rec[8])
	}
}
