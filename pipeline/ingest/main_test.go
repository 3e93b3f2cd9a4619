package ingest

import (
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"commpulse/nlp"
	"commpulse/pipeline/chlocal/chtest"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
	case "graceful":
		runGracefulChild()
		return
	default:
		runCrashChild()
		return
	}
	chtest.Main(m)
}

func newScorer() Scorer { return nlp.New() }

func nilRegistry() prometheus.Registerer { return prometheus.NewRegistry() }
