package store_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/store"
	"commpulse/pipeline/store/storetest"
)

// BenchmarkInsertMessages inserts 200,000 chat-like rows in batches of
// several sizes and reports rows/s and the ClickHouse server's CPU time per
// row (its own process, including the merges the parts cause until the
// table settles). It tells the batch size ingest should default to:
//
//	go test ./pipeline/store -run '^$' -bench InsertMessages -benchtime=1x
func BenchmarkInsertMessages(b *testing.B) {
	const total = 200_000
	for _, size := range []int{2_000, 5_000, 10_000, 50_000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			for range b.N {
				st, srv, _ := storetest.Migrated(b)
				rows := benchRows(total)
				ctx := context.Background()
				b.ResetTimer()
				t0, cpu0 := time.Now(), procCPU(b, srv.PID())
				for i := 0; i < total; i += size {
					if err := st.InsertMessages(ctx, rows[i:min(i+size, total)]); err != nil {
						b.Fatal(err)
					}
				}
				el := time.Since(t0)
				time.Sleep(3 * time.Second) // let the merges the parts caused run
				cpu := procCPU(b, srv.PID()) - cpu0
				b.StopTimer()
				b.ReportMetric(total/el.Seconds(), "rows/s")
				b.ReportMetric(float64(cpu.Microseconds())/total, "clickhouse-cpu-us/row")
			}
		})
	}
}

func benchRows(n int) []store.Message {
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]store.Message, n)
	for i := range rows {
		s := i % 400
		rows[i] = store.Message{
			EventID: fmt.Sprintf("ev-%012d", i), OccurredAt: start.Add(time.Duration(i) * 13 * time.Second),
			IngestedAt: time.Now(), Channel: "chat", Sender: fmt.Sprintf("p_%016x", s), Team: fmt.Sprintf("team-%d", s/10),
			Recipients: []string{fmt.Sprintf("p_%016x", (s+1)%400)}, RecipientTeams: []string{fmt.Sprintf("team-%d", (s+1)%400/10)},
			ThreadID: fmt.Sprintf("th_%d", i/7), Lang: "en", Tokens: 12, Status: "scored", Scored: true,
			Compound: 0.4, Pos: 0.3, Neu: 0.7, Label: 1, ScorerVersion: "commpulse-nlp/1.5",
		}
	}
	return rows
}

// procCPU is the user+system CPU time of a process (/proc/PID/stat,
// fields 14 and 15, in 10 ms ticks).
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("cpu time of %d: %v", pid, err)
	}
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}
