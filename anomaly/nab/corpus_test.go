package nab

import (
	"os"
	"path/filepath"
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
	res, err := Evaluate(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		t.Logf("%-14s %6.1f thr=%.4f det=%d/%d fp=%d", r.Profile.Name, r.Normalized, r.Threshold, r.Detected, r.Windows, r.FP)
	}
}
