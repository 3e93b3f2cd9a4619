package analyze

import (
	"testing"

	"commpulse/internal/chlocal/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }
