package anomaly

import (
	"math"
	"sort"
	"time"
)

// seasonal keeps, per bucket of the season (e.g. hour of week), the last
// depth values seen in that bucket; the expected value of a new point is the
// median of its bucket, and its residual is measured in units of the
// bucket's own spread: a busy office hour is noisier than 3 a.m., and one
// residual scale for both would make every busy hour look anomalous. The
// median of a handful of same-bucket values is
// robust to one bad week and needs no model of the daily and weekly shape:
// quiet weekends are expected because the weekend buckets only ever saw
// weekends.
type seasonal struct {
	season, bucket time.Duration
	depth          int
	hist           [][]float64 // per bucket, oldest first
	tmp            []float64
}

func newSeasonal(season, bucket time.Duration, depth int) *seasonal {
	return &seasonal{season: season, bucket: bucket, depth: depth,
		hist: make([][]float64, season/bucket), tmp: make([]float64, 0, depth)}
}

// index is the bucket of t. Buckets are anchored at the Unix epoch in UTC
// shifted to a Monday, so with Season 168h and Bucket 1h index 0 is Monday
// 00:00-01:00 UTC. Callers with local working hours pass local-clock times
// re-expressed in UTC.
func (s *seasonal) index(t time.Time) int {
	// 1970-01-05 was a Monday.
	const mondayOffset = 4 * 24 * time.Hour
	d := time.Duration(t.Unix())*time.Second - mondayOffset
	i := int((d % s.season) / s.bucket)
	if i < 0 {
		i += len(s.hist)
	}
	return i
}

// expected returns the median of t's bucket and its robust spread
// (1.4826 MAD, i.e. a standard deviation for Gaussian noise), or ok=false
// when the bucket has no history yet.
func (s *seasonal) expected(t time.Time) (med, spread float64, ok bool) {
	h := s.hist[s.index(t)]
	if len(h) == 0 {
		return 0, 0, false
	}
	s.tmp = append(s.tmp[:0], h...)
	med = median(s.tmp)
	for i, v := range s.tmp {
		s.tmp[i] = math.Abs(v - med)
	}
	return med, 1.4826 * median(s.tmp), true
}

// median sorts xs in place and returns its median.
func median(xs []float64) float64 {
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func (s *seasonal) add(t time.Time, v float64) {
	i := s.index(t)
	h := s.hist[i]
	if len(h) == s.depth {
		copy(h, h[1:])
		h = h[:len(h)-1]
	}
	s.hist[i] = append(h, v)
}
