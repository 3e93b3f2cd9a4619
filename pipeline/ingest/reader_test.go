package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/segmentio/kafka-go"
)

// Which errors of a group Reader's FetchMessage the worker waits out (the
// Reader heals by itself) and which stop it.
func TestTransientFetchError(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"coordinator not available (kafka-go gave up on three generations)", kafka.GroupCoordinatorNotAvailable, true},
		{"not coordinator", kafka.NotCoordinatorForGroup, true},
		{"wrapped", fmt.Errorf("join: %w", kafka.NotCoordinatorForGroup), true},
		{"rebalance in progress", kafka.RebalanceInProgress, true},
		{"unknown member (expired session)", kafka.UnknownMemberId, true},
		{"illegal generation", kafka.IllegalGeneration, true},
		{"leader not available", kafka.LeaderNotAvailable, true},
		{"dial refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{"connection cut mid-answer", io.ErrUnexpectedEOF, true},
		{"group authorization failed", kafka.GroupAuthorizationFailed, false},
		{"topic authorization failed", kafka.TopicAuthorizationFailed, false},
		{"reader closed", io.EOF, false},
		{"cancelled", context.Canceled, false},
		{"anything else", errors.New("the compression codec is invalid"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := transientFetchError(c.err); got != c.want {
				t.Fatalf("transientFetchError(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}
