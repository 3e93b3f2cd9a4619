package forecast

import "sort"

// nelderMead minimises f from x0 with the Nelder-Mead simplex method
// (Nelder and Mead 1965; the standard coefficients: reflection 1,
// expansion 2, contraction 1/2, shrink 1/2), starting from the simplex of
// x0 and x0 + step along each axis. It stops after maxEval evaluations or
// when the simplex's function values span less than tol (absolute plus
// relative to the best). Deterministic, allocation-light, no goroutines:
// the search is over four bounded-by-construction parameters, where
// gonum/optimize's NelderMead would do the same at the cost of a new
// module dependency (its package imports stat/distmv, which needs
// golang.org/x/tools).
func nelderMead(f func([]float64) float64, x0 []float64, step float64, maxEval int, tol float64) ([]float64, float64) {
	n := len(x0)
	type vertex struct {
		x []float64
		f float64
	}
	evals := 0
	eval := func(x []float64) float64 { evals++; return f(x) }
	simplex := make([]vertex, n+1)
	for i := range simplex {
		x := append([]float64(nil), x0...)
		if i > 0 {
			x[i-1] += step
		}
		simplex[i] = vertex{x, eval(x)}
	}
	centroid := make([]float64, n)
	point := func(a float64) []float64 { // centroid + a (centroid - worst)
		w := simplex[n].x
		x := make([]float64, n)
		for j := range x {
			x[j] = centroid[j] + a*(centroid[j]-w[j])
		}
		return x
	}
	for evals < maxEval {
		sort.SliceStable(simplex, func(i, j int) bool { return simplex[i].f < simplex[j].f })
		best, worst := simplex[0].f, simplex[n].f
		if worst-best <= tol*(1+abs(best)) {
			break
		}
		for j := range centroid {
			centroid[j] = 0
			for i := 0; i < n; i++ {
				centroid[j] += simplex[i].x[j] / float64(n)
			}
		}
		xr := point(1)
		fr := eval(xr)
		switch {
		case fr < best:
			xe := point(2)
			if fe := eval(xe); fe < fr {
				simplex[n] = vertex{xe, fe}
			} else {
				simplex[n] = vertex{xr, fr}
			}
		case fr < simplex[n-1].f:
			simplex[n] = vertex{xr, fr}
		default:
			// Contract towards the better of the worst point and its
			// reflection.
			a := -0.5
			if fr < worst {
				a = 0.5
			}
			xc := point(a)
			if fc := eval(xc); fc < min(fr, worst) {
				simplex[n] = vertex{xc, fc}
				continue
			}
			for i := 1; i <= n; i++ {
				for j := range simplex[i].x {
					simplex[i].x[j] = simplex[0].x[j] + 0.5*(simplex[i].x[j]-simplex[0].x[j])
				}
				simplex[i].f = eval(simplex[i].x)
			}
		}
	}
	sort.SliceStable(simplex, func(i, j int) bool { return simplex[i].f < simplex[j].f })
	return simplex[0].x, simplex[0].f
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
