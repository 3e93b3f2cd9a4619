package nab

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"commpulse/anomaly"
)

// corpusDir is the NAB copy next to the project (see ../shared/eval/README.md).
var corpusDir = filepath.Join("..", "..", "..", "shared", "eval", "nab")

func loadCorpus(t testing.TB) []Series {
	t.Helper()
	if _, err := os.Stat(filepath.Join(corpusDir, "labels", "combined_windows.json")); err != nil {
		if os.Getenv("COMMPULSE_REQUIRE_EVAL") == "" {
			t.Skipf("NAB corpus not found at %s (set COMMPULSE_REQUIRE_EVAL to make this fatal)", corpusDir)
		}
		t.Fatalf("NAB corpus required but missing: %v", err)
	}
	c, err := Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCorpusDev(t *testing.T) {
	if os.Getenv("NABDEV") == "" {
		t.Skip("dev only")
	}
	c := loadCorpus(t)
	cfg := anomaly.DefaultConfig()
	if d := os.Getenv("NABDET"); d != "" {
		cfg.Detectors = strings.Split(d, ",")
	}
	if j := os.Getenv("NABCFG"); j != "" {
		if err := json.Unmarshal([]byte(j), &cfg); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Evaluate(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		t.Logf("%-14s %6.1f thr=%.4f det=%d/%d fp=%d", r.Profile.Name, r.Normalized, r.Threshold, r.Detected, r.Windows, r.FP)
	}
}

func TestCorpusDiag(t *testing.T) {
	if os.Getenv("NABDIAG") == "" {
		t.Skip("dev only")
	}
	c := loadCorpus(t)
	cfg := anomaly.DefaultConfig()
	if j := os.Getenv("NABCFG"); j != "" {
		if err := json.Unmarshal([]byte(j), &cfg); err != nil {
			t.Fatal(err)
		}
	}
	sc, err := Detect(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := Score(sc, Standard)
	for _, s := range sc {
		prob := Probation(len(s.Scores))
		var line []string
		for _, w := range s.Windows {
			first := -1
			for i := max(w.Start, prob); i <= w.End; i++ {
				if s.Scores[i] >= r.Threshold {
					first = i
					break
				}
			}
			line = append(line, fmtWin(w, first))
		}
		fp := 0
		for i := prob; i < len(s.Scores); i++ {
			in := false
			for _, w := range s.Windows {
				if i >= w.Start && i <= w.End {
					in = true
				}
			}
			if !in && s.Scores[i] >= r.Threshold {
				fp++
			}
		}
		t.Logf("%-55s n=%5d fp=%3d %s", s.Name, len(s.Scores), fp, strings.Join(line, " "))
	}
}

func fmtWin(w Window, first int) string {
	if first < 0 {
		return "[" + itoa(w.Start) + "-" + itoa(w.End) + " MISS]"
	}
	return "[" + itoa(w.Start) + "-" + itoa(w.End) + " @" + itoa(first) + "]"
}

func itoa(i int) string { return strconv.Itoa(i) }
