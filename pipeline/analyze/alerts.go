package analyze

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"commpulse/internal/defaults"
	"commpulse/pipeline/kafkaconn"
)

// Alert is the JSON record written to the alerts topic, one per anomaly.
type Alert struct {
	Schema    int       `json:"schema"`
	Key       string    `json:"key"`
	WindowEnd time.Time `json:"window_end"`
	Anomaly
}

// AlertSchema is the version of the Alert JSON.
const AlertSchema = 1

// NewAlert wraps a.
func NewAlert(a Anomaly) Alert {
	return Alert{Schema: AlertSchema, Key: a.Key(), WindowEnd: a.WindowStart.Add(a.Granularity.Step()), Anomaly: a}
}

// Alerter publishes alerts. Publish returns nil only when every alert was
// acknowledged.
type Alerter interface {
	Publish(ctx context.Context, alerts []Alert) error
}

// KafkaAlerter publishes alerts to a Kafka topic with kafka-go, keyed by
// Alert.Key (so a compacted topic keeps one record per anomaly).
type KafkaAlerter struct {
	W *kafka.Writer
}

// AlertsConfig is where alerts are published: a Kafka connection and a
// topic. Zero fields take the defaults of DefaultAlertsConfig.
type AlertsConfig struct {
	// Config is the Kafka connection: brokers, TLS, SASL, timeouts.
	kafkaconn.Config
	Topic string
	// Disabled stores anomalies without publishing them.
	Disabled bool
}

// DefaultAlertsConfig returns the default alerts configuration.
func DefaultAlertsConfig() AlertsConfig {
	return AlertsConfig{Config: kafkaconn.Defaults(), Topic: "comms.alerts"}
}

// RegisterFlags registers the alerts flags on fs (the Kafka connection's
// among them), bound to c's fields with c's values as defaults: call it on
// DefaultAlertsConfig().
func (c *AlertsConfig) RegisterFlags(fs *flag.FlagSet) {
	c.Config.RegisterFlags(fs)
	fs.StringVar(&c.Topic, "alerts-topic", c.Topic, "topic for anomaly alerts (one JSON record per anomaly)")
	fs.BoolVar(&c.Disabled, "no-alerts", c.Disabled, "store anomalies without publishing them to the alerts topic")
}

// Validate fills the zero fields from DefaultAlertsConfig and resolves the
// Kafka connection, unless alerts are disabled.
func (c *AlertsConfig) Validate() error {
	if c.Disabled {
		return nil
	}
	defaults.Fill(&c.Topic, DefaultAlertsConfig().Topic)
	return c.Config.Validate()
}

// Alerter returns the alerter of c (validated; Disabled is the caller's
// to check).
func (c AlertsConfig) Alerter() *KafkaAlerter {
	return &KafkaAlerter{W: c.Writer(c.Topic)}
}

// NewKafkaAlerter returns an alerter writing to topic over a plain
// connection to brokers, with acks from all in-sync replicas.
func NewKafkaAlerter(brokers []string, topic string) *KafkaAlerter {
	return AlertsConfig{Config: kafkaconn.Brokers(brokers...), Topic: topic}.Alerter()
}

// Publish writes alerts synchronously.
func (k *KafkaAlerter) Publish(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, len(alerts))
	for i, a := range alerts {
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		msgs[i] = kafka.Message{Key: []byte(a.Key), Value: b}
	}
	if err := k.W.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("publish %d alerts to %s: %w", len(msgs), k.W.Topic, err)
	}
	return nil
}

// Close closes the writer.
func (k *KafkaAlerter) Close() error { return k.W.Close() }

// severityRank orders severities: info < warning < critical.
func severityRank(s Severity) int {
	switch s {
	case Critical:
		return 2
	case Warning:
		return 1
	}
	return 0
}

// continuingDrifts returns the keys of the drift anomalies of day (among
// found) that continue a drift already alerted: an earlier day of the same
// run (the same team, metric and onset) holds a stored drift anomaly of
// the same or a higher severity. Such an anomaly is stored, and shown in
// anomalies_k, but not alerted: a drift is alerted on the day its run first
// alarms and again only when it escalates (info to warning, warning to
// critical). Without it a two-week decline is two alerts a day for two
// weeks per sentiment metric, and a permanent change MaxRun of them; the
// partner needs the first, which says since when it has been building
// (onset), and the escalations. Reading the stored rows, not the
// detector's state, makes the rule the same after a restart, a retry and
// a re-run (--since re-runs the run's earlier days first).
func (a *Analyzer) continuingDrifts(ctx context.Context, day time.Time, found []Anomaly) (map[string]bool, error) {
	from := day
	for _, an := range found {
		if an.Detector == DetectorDrift && an.Granularity == Day && an.Onset.Before(from) {
			from = an.Onset
		}
	}
	if !from.Before(day) {
		return nil, nil
	}
	prev, err := a.db.DayAnomaliesBy(ctx, DetectorDrift, from, day)
	if err != nil {
		return nil, a.fail("read", err)
	}
	type run struct {
		team, metric string
		onset        time.Time
	}
	alerted := map[run]int{} // the highest severity stored for the run
	for _, p := range prev {
		k := run{p.Team, p.Metric, p.Onset.UTC()}
		if r, ok := alerted[k]; !ok || severityRank(p.Severity) > r {
			alerted[k] = severityRank(p.Severity)
		}
	}
	quiet := map[string]bool{}
	for _, an := range found {
		if an.Detector != DetectorDrift || an.Granularity != Day {
			continue
		}
		if r, ok := alerted[run{an.Team, an.Metric, an.Onset.UTC()}]; ok && severityRank(an.Severity) <= r {
			quiet[an.Key()] = true
		}
	}
	return quiet, nil
}
