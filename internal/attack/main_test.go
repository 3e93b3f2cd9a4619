// Package attack holds integration tests that replay attacks on commpulse
// against real servers: an in-process Kafka-protocol broker (kfake) and an
// embedded ClickHouse (libchdb). Each file covers one finding; helpers are
// prefixed by the file's topic (dlq...) so that files stay independent.
package attack

import (
	"testing"

	"commpulse/pipeline/chlocal/chtest"
)

// TestMain is shared by every file of the package (a package has one): it
// stops the shared ClickHouse engine and removes its data when tests end.
func TestMain(m *testing.M) { chtest.Main(m) }
