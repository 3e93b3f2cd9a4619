package slack

import (
	"os"
	"testing"

	"commpulse/pipeline/importer"
)

// BenchmarkImportExport imports an export named by COMMPULSE_BENCH_SLACK
// (see docs/importers.md for the generator); it skips without one. The
// time includes opening the zip (and checking it whole).
func BenchmarkImportExport(b *testing.B) {
	p := os.Getenv("COMMPULSE_BENCH_SLACK")
	if p == "" {
		b.Skip("COMMPULSE_BENCH_SLACK not set")
	}
	for range b.N {
		im := testImporter(b, nil, 0)
		ex, err := Open(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := im.ImportExport(ex, nil, func(importer.Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
		ex.Close()
		st := im.Stats()
		b.ReportMetric(float64(st.Messages)/b.Elapsed().Seconds(), "msgs/s")
		b.ReportMetric(float64(st.Imported)/b.Elapsed().Seconds(), "imported/s")
	}
}
