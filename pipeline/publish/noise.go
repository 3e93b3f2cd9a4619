package publish

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math"
)

// The noise of every published figure is discrete Laplace, drawn with the
// exact sampler of Canonne, Kamath and Steinke ("The Discrete Gaussian for
// Differential Privacy", NeurIPS 2020, algorithms 1-2): integers only, no
// floating point in the sampler, so none of the attacks on textbook
// floating-point Laplace (Mironov 2012: the low bits of a float sample
// reveal the value it was added to) apply. A figure is snapped to a grid
// (Grid) first, the noise is added in grid units, and the result is turned
// back into a float: post-processing, which costs no privacy.
//
// The random bits come from a keyed stream: HMAC-SHA256 in counter mode
// under the noise key, over a context that names the figure (window, team,
// figure) and the exact value being released. The same figure of the same
// data therefore gets the same noise on every re-run, so re-running a
// window (restarts, --since) publishes nothing new and averaging re-runs
// gains an attacker nothing; a figure whose data changed (an erasure, late
// events) gets independent noise, which is an ordinary second release. With
// no key configured a random one is drawn per process (crypto/rand), and
// re-runs across restarts are then fresh releases (docs/privacy.md).

// bits is a source of uniformly random bytes.
type bits interface {
	io.Reader
}

// stream is HMAC-SHA256(key, context || counter) in counter mode.
type stream struct {
	mac     []byte // key
	context []byte
	ctr     uint64
	buf     []byte
}

func newStream(key, context []byte) *stream {
	return &stream{mac: key, context: context}
}

func (s *stream) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.buf) == 0 {
			h := hmac.New(sha256.New, s.mac)
			h.Write(s.context)
			var c [8]byte
			binary.BigEndian.PutUint64(c[:], s.ctr)
			h.Write(c[:])
			s.ctr++
			s.buf = h.Sum(nil)
		}
		k := copy(p[n:], s.buf)
		s.buf = s.buf[k:]
		n += k
	}
	return n, nil
}

// randomKey returns 32 bytes from crypto/rand.
func randomKey() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic("publish: crypto/rand failed: " + err.Error()) // never on supported platforms (Go >= 1.24)
	}
	return k
}

// uniform returns an integer uniform in [0, n), n >= 1, by rejection (no
// modulo bias).
func uniform(r bits, n uint64) uint64 {
	if n <= 1 {
		return 0
	}
	limit := math.MaxUint64 - math.MaxUint64%n // multiples of n below it
	var b [8]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			panic("publish: random source failed: " + err.Error())
		}
		v := binary.BigEndian.Uint64(b[:])
		if v < limit {
			return v % n
		}
	}
}

// bernoulli returns true with probability num/den (0 <= num <= den).
func bernoulli(r bits, num, den uint64) bool {
	return uniform(r, den) < num
}

// bernoulliExp1 returns true with probability exp(-num/den), num <= den
// (CKS algorithm 1, the 0 <= gamma <= 1 case).
func bernoulliExp1(r bits, num, den uint64) bool {
	k := uint64(1)
	for bernoulli(r, num, den*k) {
		k++
	}
	return k%2 == 1
}

// bernoulliExp returns true with probability exp(-num/den) for any num/den >= 0.
func bernoulliExp(r bits, num, den uint64) bool {
	for num > den {
		if !bernoulliExp1(r, 1, 1) {
			return false
		}
		num -= den
	}
	return bernoulliExp1(r, num, den)
}

// geometricExp returns a sample of the geometric distribution with
// P(k) = (1 - e^-x) e^(-kx) for x = s/t (CKS algorithm 2, fast variant).
func geometricExp(r bits, s, t uint64) uint64 {
	if s == 0 {
		return 0
	}
	var u uint64
	for {
		u = uniform(r, t)
		if bernoulliExp(r, u, t) {
			break
		}
	}
	v := uint64(0)
	for bernoulliExp1(r, 1, 1) {
		v++
	}
	return (v*t + u) / s
}

// discreteLaplace returns a sample X with P(X = x) proportional to
// exp(-|x| s / t), i.e. scale t/s.
func discreteLaplace(r bits, t, s uint64) int64 {
	for {
		neg := bernoulli(r, 1, 2)
		m := geometricExp(r, s, t)
		if neg && m == 0 {
			continue
		}
		if neg {
			return -int64(m)
		}
		return int64(m)
	}
}

// scaleRatio turns a real scale (> 0) into the integer ratio t/s the
// sampler takes, to 1e-6 relative precision.
func scaleRatio(scale float64) (t, s uint64) {
	const den = 1_000_000
	t = uint64(math.Round(scale * den))
	if t == 0 {
		t = 1
	}
	return t, den
}

// laplaceVariance is the variance of the discrete Laplace of scale b:
// 2 q / (1-q)^2 with q = exp(-1/b).
func laplaceVariance(b float64) float64 {
	if b <= 0 {
		return 0
	}
	q := math.Exp(-1 / b)
	return 2 * q / ((1 - q) * (1 - q))
}
