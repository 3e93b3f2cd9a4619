package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Review holds the metrics of the review API (`commpulse review serve`).
// Label values are fixed sets: a route name, an HTTP status code, a review
// state. Never a key, a team or a reviewer.
type Review struct {
	// Requests counts API requests by route (list, review, report, other)
	// and status code; 401s are the refused tokens.
	Requests *prometheus.CounterVec
	// Reviews counts reviews written, by the state set.
	Reviews *prometheus.CounterVec
}

// NewReview creates the review metrics, registered on reg.
func NewReview(reg prometheus.Registerer) *Review {
	f := promauto.With(reg)
	return &Review{
		Requests: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "review_requests_total",
			Help: "Review API requests, by route and HTTP status code (401: missing or wrong token)."}, []string{"route", "code"}),
		Reviews: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "reviews_total",
			Help: "Anomaly reviews written, by the state set."}, []string{"state"}),
	}
}
