package ingest

import (
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"commpulse/internal/chlocal/chtest"
	"commpulse/nlp"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		runChild(mode)
		return
	}
	chtest.Main(m)
}

func newScorer() Scorer { return nlp.New() }

func nilRegistry() prometheus.Registerer { return prometheus.NewRegistry() }
