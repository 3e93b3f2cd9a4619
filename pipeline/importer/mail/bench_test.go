package mail

import (
	"os"
	"testing"

	"commpulse/pipeline/importer"
)

// BenchmarkImportMbox imports a generated mbox named by COMMPULSE_BENCH_MBOX
// (see docs/importers.md for the generator); it skips without one.
func BenchmarkImportMbox(b *testing.B) {
	p := os.Getenv("COMMPULSE_BENCH_MBOX")
	if p == "" {
		b.Skip("COMMPULSE_BENCH_MBOX not set")
	}
	for range b.N {
		im := testImporter(b, nil)
		if err := im.ImportInput(Input{Path: p, Kind: KindMbox}, nil, func(importer.Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(im.Stats().Imported)/b.Elapsed().Seconds(), "msgs/s")
	}
}
