package nab

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"testing"

	"commpulse/anomaly"
)

// TestCorpusDiag2 (dev only, NABDIAG2=1): per series, FP rows and misses
// with scores, costs and the detector credited.
func TestCorpusDiag2(t *testing.T) {
	if os.Getenv("NABDIAG2") == "" {
		t.Skip("dev only")
	}
	c := loadCorpus(t)
	cfg := anomaly.DefaultConfig()
	if j := os.Getenv("NABCFG"); j != "" {
		if err := json.Unmarshal([]byte(j), &cfg); err != nil {
			t.Fatal(err)
		}
	}
	sc := make([]Scored, len(c))
	who := make([][]string, len(c))
	for i, s := range c {
		d, _ := anomaly.New(cfg)
		x := make([]float64, len(s.Values))
		w := make([]string, len(s.Values))
		for j := range s.Values {
			e := d.Observe(s.Times[j], s.Values[j])
			x[j], w[j] = e.Score, e.Detector
		}
		sc[i] = Scored{Name: s.Name, Scores: x, Windows: s.Windows}
		who[i] = w
	}
	r, _ := Score(sc, Standard)
	t.Logf("standard %.1f thr %.4f", r.Normalized, r.Threshold)
	fpBy := map[string]int{}
	missMax := []string{}
	for k, s := range sc {
		prob := Probation(len(s.Scores))
		pts, _, _ := sweepPoints(s, Standard, 0)
		for j, p := range pts {
			i := j + prob
			if p.window < 0 && p.score >= r.Threshold {
				fpBy[who[k][i]]++
				if os.Getenv("NABFP") != "" {
					fmt.Printf("FP %-50s i=%5d sc=%.6f cost=%.3f det=%s\n", s.Name, i, p.score, p.weight, who[k][i])
				}
			}
		}
		for _, w := range s.Windows {
			best, bi := 0.0, -1
			for i := max(w.Start, prob); i <= w.End; i++ {
				if s.Scores[i] > best {
					best, bi = s.Scores[i], i
				}
			}
			if best < r.Threshold {
				d := ""
				if bi >= 0 {
					d = who[k][bi]
				}
				missMax = append(missMax, fmt.Sprintf("MISS %-50s [%d-%d] max=%.3f @%d det=%s", s.Name, w.Start, w.End, best, bi, d))
			}
		}
	}
	sort.Strings(missMax)
	for _, m := range missMax {
		fmt.Println(m)
	}
	fmt.Println("FP by detector", fpBy)
}

// scoreAt is the normalised standard score with a fixed threshold.
func scoreAt(sc []Scored, p Profile, thr float64) (float64, int, int) {
	total, nw := 0.0, 0
	det, fp := 0, 0
	for _, s := range sc {
		pts, n, _ := sweepPoints(s, p, nw)
		best := map[int]float64{}
		for _, pt := range pts {
			if pt.score < thr {
				continue
			}
			if pt.window < 0 {
				total += pt.weight
				fp++
				continue
			}
			if b, ok := best[pt.window]; !ok || pt.weight > b {
				best[pt.window] = pt.weight
			}
		}
		for id := nw; id < nw+n; id++ {
			if b, ok := best[id]; ok {
				total += b
				det++
			} else {
				total -= p.FN
			}
		}
		nw += n
	}
	null := -p.FN * float64(nw)
	return 100 * (total - null) / (p.TP*float64(nw) - null), det, fp
}
