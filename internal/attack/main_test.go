package attack

import (
	"testing"

	"commpulse/pipeline/chlocal/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }
