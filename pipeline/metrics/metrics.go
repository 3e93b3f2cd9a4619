// Package metrics defines every Prometheus metric commpulse exports, in one
// place, so that dashboards and alert rules have a single list to check
// against. Metrics are registered on an injected prometheus.Registerer,
// never on the global registry (as client_golang's examples and franz-go's
// kprom do), so tests and embedders can run several pipelines in a process.
//
// No label ever carries a person id or message text: the label values are
// fixed sets (reasons, table names, partitions, teams for k-safe series).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const namespace = "commpulse"

// NewRegistry returns the registry a long-running command serves on
// /metrics: the Go runtime and process collectors, and room for the
// stage's metrics (NewIngest, NewAnalyze).
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Ingest holds the metrics of the ingest stage.
type Ingest struct {
	Consumed       prometheus.Counter
	Processed      prometheus.Counter
	Dropped        *prometheus.CounterVec // reason
	DLQ            *prometheus.CounterVec // reason
	SinkRows       *prometheus.CounterVec // table
	SinkErrors     *prometheus.CounterVec // table
	SinkFlush      prometheus.Histogram
	Scoring        prometheus.Histogram
	Unscored       *prometheus.CounterVec // status
	ConsumerLag    *prometheus.GaugeVec   // partition
	EventToRow     prometheus.Histogram
	Commits        prometheus.Counter
	CommitErrors   prometheus.Counter
	ReaderRebuilds prometheus.Counter
	TableWaits     prometheus.Counter
	Erasures       prometheus.Counter
	Ready          prometheus.Gauge
	BatchesPending prometheus.Gauge
	DirectorySize  prometheus.Gauge
	OptedOut       prometheus.Gauge
}

// NewIngest creates the ingest metrics, registered on reg (promauto.With:
// each metric is named once).
func NewIngest(reg prometheus.Registerer) *Ingest {
	f := promauto.With(reg)
	m := &Ingest{
		Consumed: f.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "consumed_total",
			Help: "Kafka records fetched from the events topic."}),
		Processed: f.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "processed_total",
			Help: "Events accepted and written to ClickHouse (acknowledged)."}),
		Dropped: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "dropped_total",
			Help: "Valid events not processed, by reason (not_opted_in, opted_out)."}, []string{"reason"}),
		DLQ: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "dlq_total",
			Help: "Malformed events sent to the dead-letter topic, by reason."}, []string{"reason"}),
		SinkRows: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "sink_rows_total",
			Help: "Rows acknowledged by ClickHouse, by table."}, []string{"table"}),
		SinkErrors: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "sink_errors_total",
			Help: "Failed ClickHouse writes (each is retried), by table."}, []string{"table"}),
		SinkFlush: f.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "sink_flush_seconds",
			Help:    "Time to write one batch to ClickHouse, including retries.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
		Scoring: f.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "scoring_seconds",
			Help:    "Time to decode and score one batch of events.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		Unscored: f.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "unscored_total",
			Help: "Accepted events without a sentiment score, by status (no_text, not_english, no_signal)."}, []string{"status"}),
		ConsumerLag: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "consumer_lag",
			Help: "Records between the group's committed offset and the end of each events partition."}, []string{"partition"}),
		EventToRow: f.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "event_to_row_latency_seconds",
			Help:    "From the Kafka record timestamp to ClickHouse acknowledging its row.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		Commits: f.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "commits_total",
			Help: "Offset commits after acknowledged batches."}),
		CommitErrors: f.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "commit_errors_total",
			Help: "Failed offset commits (the batch will be redelivered and deduplicated)."}),
		ReaderRebuilds: f.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "reader_rebuilds_total",
			Help: "Kafka group readers rebuilt by the stall watchdog (an assigned partition with records to fetch delivered none for --stall-timeout)."}),
		TableWaits: f.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "table_wait_timeouts_total",
			Help: "Batches admitted before the directory or consent follower had applied what its topic held (it lagged longer than --table-wait)."}),
		Erasures: f.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "erasures_total",
			Help: "Persons whose rows were erased after an opt-out."}),
		Ready: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "ready",
			Help: "1 when connected to Kafka and ClickHouse and caught up on directory and consent."}),
		BatchesPending: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "batches_pending",
			Help: "Batches waiting for or in a ClickHouse write (bounded)."}),
		DirectorySize: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "directory_people",
			Help: "People known from the directory topic."}),
		OptedOut: f.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "opted_out_people",
			Help: "People currently opted out."}),
	}
	return m
}
