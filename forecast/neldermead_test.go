package forecast

import (
	"math"
	"testing"
)

func TestNelderMead(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func([]float64) float64
		x0   []float64
		want []float64
	}{
		{"quadratic", func(x []float64) float64 { return (x[0]-1)*(x[0]-1) + 10*(x[1]+2)*(x[1]+2) }, []float64{0, 0}, []float64{1, -2}},
		{"rosenbrock", func(x []float64) float64 {
			return 100*(x[1]-x[0]*x[0])*(x[1]-x[0]*x[0]) + (1-x[0])*(1-x[0])
		}, []float64{-1.2, 1}, []float64{1, 1}},
		{"four dimensions", func(x []float64) float64 {
			var s float64
			for i, v := range x {
				s += float64(i+1) * (v - float64(i)) * (v - float64(i))
			}
			return s
		}, []float64{3, 3, 3, 3}, []float64{0, 1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, f := nelderMead(tc.f, tc.x0, 0.5, 5000, 1e-14)
			for i := range x {
				if math.Abs(x[i]-tc.want[i]) > 1e-3 {
					t.Fatalf("minimum at %v (f %g), want %v", x, f, tc.want)
				}
			}
		})
	}
}

func TestNelderMeadStopsAtBudget(t *testing.T) {
	n := 0
	nelderMead(func(x []float64) float64 { n++; return x[0] * x[0] }, []float64{100}, 1, 30, 0)
	// The budget is checked once per iteration; an iteration evaluates at
	// most n+2 points (a shrink: n more).
	if n > 30+3 {
		t.Fatalf("%d evaluations with a budget of 30", n)
	}
}
