// Command probe is the container healthcheck of the commpulse image: it GETs
// one URL and exits 0 when the answer is 2xx, 1 otherwise. The image is
// built FROM scratch (no shell, no curl, no wget), so Docker's HEALTHCHECK
// and compose's healthcheck run this instead:
//
//	healthcheck:
//	  test: ["CMD", "/usr/local/bin/probe", "http://127.0.0.1:9100/readyz"]
//
// Kubernetes does not need it: its httpGet probes call /healthz and /readyz
// directly.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run probes args[0] (default http://127.0.0.1:9100/readyz) with a 3 s
// timeout and reports failures on stderr.
func run(args []string, stderr io.Writer) int {
	url := "http://127.0.0.1:9100/readyz"
	switch len(args) {
	case 0:
	case 1:
		url = args[0]
	default:
		fmt.Fprintln(stderr, "usage: probe [URL]")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := probe(ctx, url); err != nil {
		fmt.Fprintf(stderr, "probe: %v\n", err)
		return 1
	}
	return 0
}

func probe(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return nil
}
