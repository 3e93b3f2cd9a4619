package nab

import (
	"fmt"
	"os"
	"sort"
	"testing"

	"commpulse/anomaly"
)

// TestCorpusDiag2 is a development aid (NABDIAG2=1, optional NABCFG as in
// TestCorpusDev): at the standard profile's threshold it prints every
// missed window with its best score and the detector credited there, and
// the number of false-positive rows per credited detector; NABFP=1 also
// lists every first detection (TP) and false-positive row (FP) with its
// score and NAB cost. The output goes to stdout so it can be grepped.
func TestCorpusDiag2(t *testing.T) {
	if os.Getenv("NABDIAG2") == "" {
		t.Skip("dev only")
	}
	c := loadCorpus(t)
	cfg := devConfig(t)
	list := os.Getenv("NABFP") != ""
	sc := make([]Scored, len(c))
	who := make([][]string, len(c))
	for i, s := range c {
		d, err := anomaly.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float64, len(s.Values))
		w := make([]string, len(s.Values))
		for j := range s.Values {
			e := d.Observe(s.Times[j], s.Values[j])
			x[j], w[j] = e.Score, e.Detector
		}
		sc[i] = Scored{Name: s.Name, Scores: x, Windows: s.Windows}
		who[i] = w
	}
	r, err := Score(sc, Standard)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("standard %.1f threshold %.4f\n", r.Normalized, r.Threshold)
	fpBy := map[string]int{}
	var misses []string
	for k, s := range sc {
		prob := Probation(len(s.Scores))
		pts, _, err := sweepPoints(s, Standard, 0)
		if err != nil {
			t.Fatal(err)
		}
		for j, p := range pts {
			i := j + prob
			if p.window < 0 && p.score >= r.Threshold {
				fpBy[who[k][i]]++
				if list {
					fmt.Printf("FP %-55s i=%d score=%.6f cost=%.3f detector=%s\n", s.Name, i, p.score, p.weight, who[k][i])
				}
			}
		}
		for _, w := range s.Windows {
			best, bi := -1.0, -1
			for i := max(w.Start, prob); i <= w.End; i++ {
				if s.Scores[i] > best {
					best, bi = s.Scores[i], i
				}
			}
			switch {
			case bi < 0: // window inside probation
			case best < r.Threshold:
				misses = append(misses, fmt.Sprintf("MISS %-55s [%d-%d] max=%.3f at %d detector=%s", s.Name, w.Start, w.End, best, bi, who[k][bi]))
			case list:
				for i := max(w.Start, prob); i <= w.End; i++ {
					if s.Scores[i] >= r.Threshold {
						fmt.Printf("TP %-55s i=%d detector=%s\n", s.Name, i, who[k][i])
						break
					}
				}
			}
		}
	}
	sort.Strings(misses)
	for _, m := range misses {
		fmt.Println(m)
	}
	fmt.Println("false positives by detector:", fpBy)
}
