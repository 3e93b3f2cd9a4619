package main

import (
	"testing"

	"commpulse/internal/chlocal/chtest"
)

// TestMain gives the tests that need ClickHouse (privacy-report, person
// export) the shared embedded server; the others never start it.
func TestMain(m *testing.M) { chtest.Main(m) }
