// Package attack is the privacy attack suite: Go tests that try, as an
// attacker with some access would, to learn one person's data from what
// commpulse stores or publishes, against the real Kafka-protocol broker and
// the real ClickHouse. Every attack must fail: either the cells it needs
// are never published, or its best estimate misses by at least a stated
// error with a stated probability (docs/privacy.md). When a new output is
// added, its attack is added here.
package attack
