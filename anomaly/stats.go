package anomaly

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// normalSurprise is -log10 of the two-sided normal tail 2 Q(|z|), using the
// asymptotic expansion once erfc underflows.
func normalSurprise(z float64) float64 {
	a := math.Abs(z)
	if a < 30 {
		p := math.Erfc(a / math.Sqrt2)
		if p >= 1 {
			return 0
		}
		return -math.Log10(p)
	}
	// log(erfc(x)) ~ -x^2 - log(x sqrt(pi)) for large x, x = a/sqrt2.
	x := a / math.Sqrt2
	return (x*x + math.Log(x*math.Sqrt(math.Pi))) / math.Ln10
}

// zForSurprise inverts normalSurprise by bisection.
func zForSurprise(s float64) float64 {
	lo, hi := 0.0, 60.0
	for i := 0; i < 100; i++ {
		m := (lo + hi) / 2
		if normalSurprise(m) < s {
			lo = m
		} else {
			hi = m
		}
	}
	return (lo + hi) / 2
}

// chiSquareSurprise is -log10 P(X >= g) for X ~ chi-square(dof).
func chiSquareSurprise(g float64, dof int) float64 {
	if g <= 0 {
		return 0
	}
	p := mathext.GammaIncRegComp(float64(dof)/2, g/2)
	if p <= 1e-300 {
		return 300
	}
	return -math.Log10(p)
}
