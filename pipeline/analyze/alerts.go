package analyze

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
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

// NewKafkaAlerter returns an alerter writing to topic with acks from all
// in-sync replicas.
func NewKafkaAlerter(brokers []string, topic string) *KafkaAlerter {
	return &KafkaAlerter{W: &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, AllowAutoTopicCreation: true,
		BatchTimeout: 10 * time.Millisecond, Transport: &kafka.Transport{},
	}}
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
