package nlp

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jdkato/prose/v2"
	"github.com/jonreiter/govader"
)

// benchMessages is the message set both scorers see: the workplace-style
// fixture in testdata (short chat lines, the pipeline's typical input).
func benchMessages(b *testing.B) []string {
	b.Helper()
	f, err := os.Open("testdata/messages.txt")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var msgs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			msgs = append(msgs, line)
		}
	}
	if len(msgs) == 0 {
		b.Fatal("no messages in testdata/messages.txt")
	}
	return msgs
}

// BenchmarkScore scores the same message set with commpulse and with
// govader (VADER reference) in one run. One op is one message; compare the
// msgs/s metrics (run with -cpu 1 for the one-core figure):
//
//	go test ./nlp -run '^$' -bench Score -benchmem -cpu 1
func BenchmarkScore(b *testing.B) {
	msgs := benchMessages(b)
	b.Run("commpulse", func(b *testing.B) {
		a := New()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			a.Score(msgs[i%len(msgs)])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("govader", func(b *testing.B) {
		g := govader.NewSentimentIntensityAnalyzer()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			g.PolarityScores(msgs[i%len(msgs)])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// BenchmarkTokenizer compares this package's tokenizer with prose's (the
// only public entry to it is NewDocument with the models switched off).
func BenchmarkTokenizer(b *testing.B) {
	msgs := benchMessages(b)
	lx := sharedLexicon()
	b.Run("commpulse", func(b *testing.B) {
		s := new(scratch)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.tokenize(msgs[i%len(msgs)], lx)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("prose", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := prose.NewDocument(msgs[i%len(msgs)], prose.WithSegmentation(false),
				prose.WithTagging(false), prose.WithExtraction(false)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// BenchmarkScoreParallel is the shared-Analyzer case of the pipeline.
func BenchmarkScoreParallel(b *testing.B) {
	msgs := benchMessages(b)
	a := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			a.Score(msgs[i%len(msgs)])
			i++
		}
	})
}

// BenchmarkScoreAdversarial scores long, repetitive inputs that would
// expose super-linear passes (contrast scopes, phrase probes, code
// detection). ns/op should grow in proportion to the input size.
func BenchmarkScoreAdversarial(b *testing.B) {
	a := New()
	for _, in := range []struct{ name, unit string }{
		{"but", "good but "},
		{"although", "although good, "},
		{"phrase", "this is "},
		{"slashes", "a/"},
		{"colons", ":"},
		{"negation", "not "},
		{"emoji", "🎉"},
	} {
		for _, n := range []int{1_000, 10_000} {
			text := strings.Repeat(in.unit, n)
			b.Run(fmt.Sprintf("%s/%d", in.name, n), func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				for b.Loop() {
					a.Score(text)
				}
			})
		}
	}
}
