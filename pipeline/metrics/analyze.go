package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Analyze holds the metrics of the analyze stage. Label values are fixed
// sets (granularity, metric, severity, stage): never a team below k or a
// person.
type Analyze struct {
	// WindowSeconds is the time to analyze one window (read, compute,
	// write), by granularity (hour, day).
	WindowSeconds *prometheus.HistogramVec
	// Windows counts analyzed windows by granularity.
	Windows *prometheus.CounterVec
	// Suppressed counts (team, window) pairs not published because the team
	// had fewer than k active members, by granularity.
	Suppressed *prometheus.CounterVec
	// Anomalies counts newly detected anomalies by metric and severity. A
	// re-run of a window does not count its anomalies again.
	Anomalies *prometheus.CounterVec
	// Alerts counts alert records written to the alerts topic.
	Alerts prometheus.Counter
	// AlertsSuppressed counts new anomalies stored but not alerted because
	// a standing dismissal of the same team and metric covers them
	// (pipeline/review's suppression of repeats).
	AlertsSuppressed prometheus.Counter
	// EarlyWarnings counts new early warnings (forecast anomalies), by
	// metric; a warning that continues from the day before is not counted
	// again, nor is a re-run of a window.
	EarlyWarnings *prometheus.CounterVec
	// LastClosedWindow is the start (Unix seconds) of the last window
	// analyzed, by granularity.
	LastClosedWindow *prometheus.GaugeVec
	// Errors counts failed attempts, by stage (read, network, write, alert,
	// detect); a failed window is retried on the next tick.
	Errors *prometheus.CounterVec
	// Ready is 1 when ClickHouse answered the last attempt.
	Ready prometheus.Gauge
}

// NewAnalyze creates and registers the analyzer metrics on reg.
func NewAnalyze(reg prometheus.Registerer) *Analyze {
	f := promauto.With(reg)
	m := &Analyze{
		WindowSeconds: f.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "analyzer_window_seconds",
			Help:    "Time to analyze one window (read, compute, write), by granularity.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}, []string{"granularity"}),
		Windows: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "analyzer_windows_total",
			Help: "Windows analyzed, by granularity."}, []string{"granularity"}),
		Suppressed: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "analyzer_windows_suppressed_total",
			Help: "Team day windows not published because the team had fewer than k senders (day windows only: an hourly count would show when a small team wrote)."}, []string{"granularity"}),
		Anomalies: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "anomalies_total",
			Help: "Anomalies detected (once per team, metric and window), by metric and severity."}, []string{"metric", "severity"}),
		EarlyWarnings: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "early_warnings_total",
			Help: "New early warnings (a forecast wholly past its threshold), by metric; a warning continuing from the day before is not counted again."}, []string{"metric"}),
		Alerts: f.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "alerts_total",
			Help: "Alert records written to the alerts topic."}),
		AlertsSuppressed: f.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "alerts_suppressed_total",
			Help: "New anomalies stored but not alerted: a standing dismissal of the same team and metric covers them."}),
		LastClosedWindow: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "analyzer_last_window_timestamp_seconds",
			Help: "Start of the last analyzed window, Unix seconds, by granularity."}, []string{"granularity"}),
		Errors: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "analyzer_errors_total",
			Help: "Failed analyzer attempts, by stage (retried on the next tick)."}, []string{"stage"}),
		Ready: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "analyzer_ready",
			Help: "1 when the analyzer's last attempt reached ClickHouse."}),
	}
	return m
}
