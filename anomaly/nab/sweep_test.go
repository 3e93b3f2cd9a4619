package nab

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"commpulse/anomaly"
)

// TestSweep is a development aid: NABSWEEP="json;json;..." scores each
// JSON patch of DefaultConfig (e.g. {"DiscordScales":2}) over the corpus,
// loading it once, and prints the three profiles per patch.
func TestSweep(t *testing.T) {
	sw := os.Getenv("NABSWEEP")
	if sw == "" {
		t.Skip("dev only")
	}
	c := loadCorpus(t)
	for _, j := range strings.Split(sw, ";") {
		cfg := anomaly.DefaultConfig()
		if err := json.Unmarshal([]byte(j), &cfg); err != nil {
			t.Fatal(err)
		}
		res, err := Evaluate(c, cfg)
		if err != nil {
			fmt.Println(j, err)
			continue
		}
		fmt.Printf("%-70s %.1f %.1f %.1f det %d fp %d\n", j, res[0].Normalized, res[1].Normalized, res[2].Normalized, res[0].Detected, res[0].FP)
	}
}
