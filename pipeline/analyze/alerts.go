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
