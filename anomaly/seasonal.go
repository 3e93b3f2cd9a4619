package anomaly

import (
	"sort"
	"time"
)

// seasonal keeps, per bucket of the season (e.g. hour of week), the last
// depth values seen in that bucket; the expected value of a new point is the
// median of its bucket. The median of a handful of same-bucket values is
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

func (s *seasonal) expected(t time.Time) (float64, bool) {
	h := s.hist[s.index(t)]
	if len(h) == 0 {
		return 0, false
	}
	s.tmp = append(s.tmp[:0], h...)
	sort.Float64s(s.tmp)
	n := len(s.tmp)
	if n%2 == 1 {
		return s.tmp[n/2], true
	}
	return (s.tmp[n/2-1] + s.tmp[n/2]) / 2, true
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
