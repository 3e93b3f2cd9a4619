package attack

import (
	"testing"

	"commpulse/internal/chlocal/chtest"
)

// TestMain is shared by every file of the package (a package has one): it
// stops the shared ClickHouse engine and removes its data when tests end.
func TestMain(m *testing.M) { chtest.Main(m) }
