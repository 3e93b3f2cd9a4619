package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"commpulse/pipeline/metrics"
	"commpulse/pipeline/store"
)

// The API (docs/analyze.md#review). Every route needs
// `Authorization: Bearer <token>` with a token of the token file; without
// one, or with another, the answer is 401 and nothing is read or written.
//
//	GET  /v1/anomalies?state=S&from=D&to=D&limit=N  anomalies with their review, newest first
//	POST /v1/anomalies/{key}/review                 body {"state": "...", "reason": "..."}
//	GET  /v1/review-report?from=D&to=D              precision and counts per metric
//
// Errors are JSON {"error": "..."}: 400 bad JSON, state, reason or query,
// 404 no such anomaly, 409 a transition the state machine refuses (with
// the current state and the allowed ones), 500 a store failure (logged,
// not echoed).

// Item is one anomaly with its review, as the API and `review list --json`
// show it. Key is the anomaly's key (store.Anomaly.Key); Next the states
// it may move to.
type Item struct {
	Key string `json:"key"`
	store.Anomaly
	WindowEnd  time.Time  `json:"window_end"`
	State      State      `json:"state"`
	Reason     Reason     `json:"reason,omitempty"`
	Reviewer   string     `json:"reviewer,omitempty"`
	ReviewedAt *time.Time `json:"reviewed_at,omitempty"`
	Next       []State    `json:"next"`
}

// NewItem is the Item of ra.
func NewItem(ra store.ReviewedAnomaly) Item {
	it := Item{Key: ra.Key(), Anomaly: ra.Anomaly, WindowEnd: ra.WindowStart.Add(ra.Granularity.Step()),
		State: ra.Review.State, Reason: ra.Review.Reason, Reviewer: ra.Review.Reviewer, Next: Next(ra.Review.State)}
	if !ra.Review.ReviewedAt.IsZero() {
		at := ra.Review.ReviewedAt
		it.ReviewedAt = &at
	}
	if it.Next == nil {
		it.Next = []State{}
	}
	return it
}

// MetricReport is one metric's review outcome. Precision is
// store.MetricReview.Precision, null when nothing was judged.
type MetricReport struct {
	Metric       string            `json:"metric"`
	Anomalies    uint64            `json:"anomalies"`
	New          uint64            `json:"new"`
	Acknowledged uint64            `json:"acknowledged"`
	Confirmed    uint64            `json:"confirmed"`
	Dismissed    uint64            `json:"dismissed"`
	DismissedBy  map[Reason]uint64 `json:"dismissed_by"`
	Precision    *float64          `json:"precision"`
}

// Report is the review report: per metric, and over all of them.
type Report struct {
	From    *time.Time     `json:"from,omitempty"`
	To      *time.Time     `json:"to,omitempty"`
	Metrics []MetricReport `json:"metrics"`
	Total   MetricReport   `json:"total"`
}

func metricReport(m store.MetricReview) MetricReport {
	r := MetricReport{Metric: m.Metric, Anomalies: m.Anomalies, New: m.New, Acknowledged: m.Acknowledged,
		Confirmed: m.Confirmed, Dismissed: m.DismissedTotal(), DismissedBy: map[Reason]uint64{}}
	for _, reason := range Reasons {
		r.DismissedBy[reason] = m.Dismissed[reason]
	}
	if p, ok := m.Precision(); ok {
		r.Precision = &p
	}
	return r
}

// NewReport builds the Report of a store report over [from, to).
func NewReport(ms []store.MetricReview, from, to time.Time) Report {
	rep := Report{Metrics: []MetricReport{}, Total: metricReport(Total(ms))}
	for _, m := range ms {
		rep.Metrics = append(rep.Metrics, metricReport(m))
	}
	if !from.IsZero() {
		rep.From = &from
	}
	if !to.IsZero() {
		rep.To = &to
	}
	return rep
}

// SetRequest is the body of POST /v1/anomalies/{key}/review.
type SetRequest struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// maxBody bounds a request body: a SetRequest is a few dozen bytes.
const maxBody = 4 << 10

// DefaultListLimit and MaxListLimit bound GET /v1/anomalies.
const (
	DefaultListLimit = 500
	MaxListLimit     = 10000
)

// NewHandler returns the API over svc, accepting tokens. m counts the
// requests (nil: registered nowhere); log gets one line per review
// written (key, states, the reviewer's pseudonym) and the store failures.
func NewHandler(svc *Service, tokens Tokens, m *metrics.Review, log *slog.Logger) http.Handler {
	if m == nil {
		m = svc.m
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{svc: svc, tokens: tokens, m: m, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /v1/anomalies", h.list)
	h.mux.HandleFunc("POST /v1/anomalies/{key}/review", h.review)
	h.mux.HandleFunc("GET /v1/review-report", h.report)
	return h
}

type handler struct {
	svc    *Service
	tokens Tokens
	m      *metrics.Review
	log    *slog.Logger
	mux    *http.ServeMux
}

type reviewerKey struct{}

func contextWithReviewer(r *http.Request, reviewer string) context.Context {
	return context.WithValue(r.Context(), reviewerKey{}, reviewer)
}

// reviewerOf is the pseudonym of the request's token (set by ServeHTTP).
func reviewerOf(r *http.Request) string {
	s, _ := r.Context().Value(reviewerKey{}).(string)
	return s
}

// routes maps the mux patterns to the route label of the metrics.
var routes = map[string]string{
	"GET /v1/anomalies":               "list",
	"POST /v1/anomalies/{key}/review": "review",
	"GET /v1/review-report":           "report",
}

// statusWriter records the status code for the metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP authenticates every request before routing it: a request
// without an accepted token gets 401 whatever its route, so the API does
// not tell which routes exist.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	_, pattern := h.mux.Handler(r)
	route, ok := routes[pattern]
	if !ok {
		route = "other"
	}
	defer func() { h.m.Requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc() }()
	sw.Header().Set("Cache-Control", "no-store")
	sw.Header().Set("X-Content-Type-Options", "nosniff")
	reviewer, ok := h.authenticate(r)
	if !ok {
		sw.Header().Set("WWW-Authenticate", `Bearer realm="commpulse-review"`)
		writeError(sw, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	h.mux.ServeHTTP(sw, r.WithContext(contextWithReviewer(r, reviewer)))
}

// authenticate returns the reviewer pseudonym of the request's bearer
// token.
func (h *handler) authenticate(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return h.tokens.Match(strings.TrimSpace(token))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

type errorBody struct {
	Error string  `json:"error"`
	State State   `json:"state,omitempty"`
	Next  []State `json:"next,omitempty"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

// internal answers 500 without the cause (a store error can name the
// server), which goes to the log.
func (h *handler) internal(w http.ResponseWriter, what string, err error) {
	h.log.Error("review API: store failure", "op", what, "err", err)
	writeError(w, http.StatusInternalServerError, what+": store failure")
}

// ParseTime reads a query or flag time: 2026-11-02, 2026-11-02T10:00 or
// RFC 3339 (UTC when no zone).
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want 2026-11-02, 2026-11-02T10:00 or RFC 3339", s)
}

func queryTimes(r *http.Request) (from, to time.Time, err error) {
	if v := r.URL.Query().Get("from"); v != "" {
		if from, err = ParseTime(v); err != nil {
			return from, to, fmt.Errorf("from: %w", err)
		}
	}
	if v := r.URL.Query().Get("to"); v != "" {
		if to, err = ParseTime(v); err != nil {
			return from, to, fmt.Errorf("to: %w", err)
		}
	}
	return from, to, nil
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	f := store.ReviewFilter{Limit: DefaultListLimit}
	var err error
	if f.From, f.To, err = queryTimes(r); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if v := r.URL.Query().Get("state"); v != "" {
		if f.State, err = ParseState(v); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxListLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want 1..%d", v, MaxListLimit))
			return
		}
		f.Limit = n
	}
	ras, err := h.svc.List(r.Context(), f)
	if err != nil {
		h.internal(w, "list", err)
		return
	}
	items := make([]Item, 0, len(ras))
	for _, ra := range ras {
		items = append(items, NewItem(ra))
	}
	writeJSON(w, http.StatusOK, map[string]any{"anomalies": items})
}

func (h *handler) review(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	var req SetRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "body: want one JSON object")
		return
	}
	to, err := ParseState(req.State)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	reason, err := ParseReason(req.Reason)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	reviewer := reviewerOf(r)
	ra, err := h.svc.Set(r.Context(), key, to, reason, reviewer)
	var te *TransitionError
	switch {
	case err == nil:
	case errors.As(err, &te):
		writeJSON(w, http.StatusConflict, errorBody{Error: err.Error(), State: te.From, Next: Next(te.From)})
		return
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "no stored anomaly has key "+strconv.Quote(key))
		return
	case errors.Is(err, ErrBadState), errors.Is(err, ErrBadReason):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	default:
		h.internal(w, "review", err)
		return
	}
	h.log.Info("anomaly reviewed", "key", ra.Key(), "state", ra.Review.State, "reason", ra.Review.Reason, "reviewer", reviewer)
	writeJSON(w, http.StatusOK, NewItem(ra))
}

func (h *handler) report(w http.ResponseWriter, r *http.Request) {
	from, to, err := queryTimes(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ms, err := h.svc.Report(r.Context(), from, to)
	if err != nil {
		h.internal(w, "report", err)
		return
	}
	writeJSON(w, http.StatusOK, NewReport(ms, from, to))
}
