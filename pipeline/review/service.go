package review

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"commpulse/pipeline/metrics"
	"commpulse/pipeline/store"
)

// ErrNotFound is store.ErrNotFound: no stored anomaly has the key.
var ErrNotFound = store.ErrNotFound

// Store is what the review service reads and writes; *store.Store
// implements it (the SQL is there).
type Store interface {
	ReviewedAnomaly(ctx context.Context, k store.AnomalyKey) (store.ReviewedAnomaly, error)
	WriteReview(ctx context.Context, r store.Review) error
	ListReviewed(ctx context.Context, f store.ReviewFilter) ([]store.ReviewedAnomaly, error)
	ReviewReport(ctx context.Context, from, to time.Time) ([]store.MetricReview, error)
}

var _ Store = (*store.Store)(nil)

// Service applies review transitions to the stored reviews. Its Set calls
// are serialised, so two reviewers of one process cannot both move an
// anomaly from the same state; two processes can (the later write wins),
// which the docs state.
type Service struct {
	st  Store
	now func() time.Time
	m   *metrics.Review
	mu  sync.Mutex
}

// NewService returns a service over st. now is the clock (nil: time.Now);
// m the metrics (nil: registered nowhere).
func NewService(st Store, now func() time.Time, m *metrics.Review) *Service {
	if now == nil {
		now = time.Now
	}
	if m == nil {
		m = metrics.NewReview(prometheus.NewRegistry())
	}
	return &Service{st: st, now: now, m: m}
}

// Set moves the anomaly of key to state to (with reason, for a dismissal)
// on behalf of reviewer (CLIReviewer or a TokenReviewer) and returns it
// with its new review. Errors wrap ErrNotFound (the key names no stored
// anomaly, or does not parse), ErrBadState or ErrBadReason (checked
// before anything is read), or ErrBadTransition (a *TransitionError: the
// current state does not allow the move); nothing is written then.
func (s *Service) Set(ctx context.Context, key string, to State, reason Reason, reviewer string) (store.ReviewedAnomaly, error) {
	k, err := store.ParseAnomalyKey(key)
	if err != nil {
		return store.ReviewedAnomaly{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if err := checkTarget(to, reason); err != nil {
		return store.ReviewedAnomaly{}, err
	}
	if !ValidReviewer(reviewer) {
		return store.ReviewedAnomaly{}, fmt.Errorf("reviewer %q: not a pseudonym (tok_...) or %q", reviewer, CLIReviewer)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.st.ReviewedAnomaly(ctx, k)
	if err != nil {
		return store.ReviewedAnomaly{}, err
	}
	if !Allowed(cur.Review.State, to) {
		return cur, &TransitionError{From: cur.Review.State, To: to}
	}
	at := s.now().UTC().Truncate(time.Millisecond)
	if !at.After(cur.Review.ReviewedAt) {
		// The latest row wins by reviewed_at: never write one that ties
		// or precedes the review it replaces (a clock step back).
		at = cur.Review.ReviewedAt.Add(time.Millisecond)
	}
	r := store.Review{AnomalyKey: k, State: to, Reason: reason, Reviewer: reviewer, ReviewedAt: at}
	if err := s.st.WriteReview(ctx, r); err != nil {
		return store.ReviewedAnomaly{}, err
	}
	s.m.Reviews.WithLabelValues(string(to)).Inc()
	cur.Review = r
	return cur, nil
}

// List returns the stored anomalies f selects with their reviews (f.State
// must be a state or empty).
func (s *Service) List(ctx context.Context, f store.ReviewFilter) ([]store.ReviewedAnomaly, error) {
	if f.State != "" && !slices.Contains(States, f.State) {
		return nil, fmt.Errorf("list: review state %q: %w", f.State, ErrBadState)
	}
	return s.st.ListReviewed(ctx, f)
}

// Report returns the review outcome per metric of the anomalies with
// window start in [from, to) (zero: unbounded).
func (s *Service) Report(ctx context.Context, from, to time.Time) ([]store.MetricReview, error) {
	return s.st.ReviewReport(ctx, from, to)
}

// Total sums a report over its metrics (Metric "all").
func Total(ms []store.MetricReview) store.MetricReview {
	t := store.MetricReview{Metric: "all", Dismissed: map[Reason]uint64{}}
	for _, m := range ms {
		t.Anomalies += m.Anomalies
		t.New += m.New
		t.Acknowledged += m.Acknowledged
		t.Confirmed += m.Confirmed
		for r, n := range m.Dismissed {
			t.Dismissed[r] += n
		}
	}
	return t
}
