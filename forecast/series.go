package forecast

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Point is one published day of a series: its day (any instant of it; the
// UTC day is taken) and value.
type Point struct {
	Day   time.Time
	Value float64
}

// ErrDuplicateDay is returned (wrapped) by Dense when two points fall on
// one UTC day.
var ErrDuplicateDay = errors.New("forecast: two points on one day")

// Dense turns published days, in any order and with days absent (not
// published: under k), into the dense form Fit takes: the first day and
// one value per day up to the last, NaN where no point was published.
// An empty input returns a zero start and no values.
func Dense(points []Point) (time.Time, []float64, error) {
	if len(points) == 0 {
		return time.Time{}, nil, nil
	}
	ps := append([]Point(nil), points...)
	for i := range ps {
		ps[i].Day = ps[i].Day.UTC().Truncate(24 * time.Hour)
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Day.Before(ps[j].Day) })
	start := ps[0].Day
	n := int(ps[len(ps)-1].Day.Sub(start)/(24*time.Hour)) + 1
	values := make([]float64, n)
	for i := range values {
		values[i] = math.NaN()
	}
	for i, p := range ps {
		if i > 0 && p.Day.Equal(ps[i-1].Day) {
			return time.Time{}, nil, fmt.Errorf("%w: %s", ErrDuplicateDay, p.Day.Format(time.DateOnly))
		}
		values[int(p.Day.Sub(start)/(24*time.Hour))] = p.Value
	}
	return start, values, nil
}
