package deploy

import (
	"fmt"
	"os"
	"testing"

	"commpulse/internal/chlocal"
)

func TestMain(m *testing.M) {
	// The ClickHouse engine of the scrape test runs in a child process that
	// re-executes this test binary; this returns at once in the parent.
	chlocal.MaybeRunChild()
	dir, err := os.MkdirTemp("", "commpulse-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
