package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"commpulse/internal/backoff"
)

// groupReader is the events consumer: a kafka-go group Reader that the stall
// watchdog can replace while the pipeline keeps running. FetchMessage and
// CommitMessages always go to the current Reader; a call that fails because
// its Reader was replaced under it is repeated on the new one.
//
// Each Reader gets its own Kafka client id (prefix-random-build), so that
// the watchdog can find its member, and so its assignment, in the group's
// description (kafka-go does not expose either). The cost: per-client-id
// broker quotas must be set on the prefix's users, not on one client id.
type groupReader struct {
	newReader func(clientID string) *kafka.Reader
	prefix    string
	log       *slog.Logger
	// closeWait bounds waiting for a replaced Reader to close (it leaves
	// the group on Close). A Reader stuck inside kafka-go may never finish
	// closing; it is then abandoned, not waited for.
	closeWait time.Duration

	mu       sync.Mutex
	r        *kafka.Reader // nil while being replaced
	clientID string        // of r
	builds   int
	closed   bool
	ready    chan struct{} // closed once r is set again after a replacement
	gone     chan struct{} // closed when r starts being replaced
	progress map[int]partitionProgress
}

// partitionProgress is what one partition delivered so far.
type partitionProgress struct {
	delivered int64 // records, over every Reader
	next      int64 // offset after the last one delivered
}

func newGroupReader(prefix string, closeWait time.Duration, log *slog.Logger, newReader func(clientID string) *kafka.Reader) *groupReader {
	g := &groupReader{newReader: newReader, prefix: prefix, log: log, closeWait: closeWait,
		ready: make(chan struct{}), gone: make(chan struct{}), progress: map[int]partitionProgress{}}
	g.clientID = g.nextClientID()
	g.r = newReader(g.clientID)
	close(g.ready)
	return g
}

func (g *groupReader) nextClientID() string {
	g.builds++
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return fmt.Sprintf("%s-%s-%d", g.prefix, hex.EncodeToString(b), g.builds)
}

// current returns the Reader in place, waiting while one is being built,
// and a channel closed when it starts being replaced.
func (g *groupReader) current(ctx context.Context) (*kafka.Reader, <-chan struct{}, error) {
	for {
		g.mu.Lock()
		r, ready, gone, closed := g.r, g.ready, g.gone, g.closed
		g.mu.Unlock()
		switch {
		case closed:
			return nil, nil, errors.New("events reader closed")
		case r != nil:
			return r, gone, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// ClientID is the Kafka client id of the current Reader.
func (g *groupReader) ClientID() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.clientID
}

// FetchMessage is kafka.Reader.FetchMessage on the current Reader.
//
// A group Reader hands FetchMessage the errors it meets while it heals by
// itself: a consumer group that failed three generations in a row (the
// coordinator moving or unavailable: kafka-go's MaxAttempts), a partition
// reader that failed to connect. The Reader goes on retrying after it
// reported them, so a transient one (transientFetchError) is logged and the
// fetch repeated, after a backoff; returning it would stop the worker
// although nothing is wrong that waiting does not cure. Other errors (an
// authorization failure, an unknown codec, the Reader closed) are returned.
func (g *groupReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	for failures := 0; ; {
		r, gone, err := g.current(ctx)
		if err != nil {
			return kafka.Message{}, err
		}
		m, err := r.FetchMessage(ctx)
		if err == nil {
			g.mu.Lock()
			p := g.progress[m.Partition]
			p.delivered++
			p.next = m.Offset + 1
			g.progress[m.Partition] = p
			g.mu.Unlock()
			return m, nil
		}
		if ctx.Err() == nil && isClosed(gone) {
			continue // replaced under us: fetch from the new Reader
		}
		if ctx.Err() != nil || !transientFetchError(err) {
			return m, err
		}
		failures++
		d := backoff.New(100*time.Millisecond, 5*time.Second).Delay(failures - 1)
		g.log.Warn("kafka reader reported an error it retries by itself; fetching again",
			"err", err, "failures_in_a_row", failures, "in", d)
		select {
		case <-time.After(d):
		case <-gone: // replaced meanwhile: go on with the new Reader
		case <-ctx.Done():
			return kafka.Message{}, ctx.Err()
		}
	}
}

// transientFetchError reports whether err, returned by a group Reader's
// FetchMessage, is one the Reader recovers from by itself: a retriable
// Kafka error, a consumer-group membership error (kafka-go rejoins), or a
// network error.
func transientFetchError(err error) bool {
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		switch kerr {
		case kafka.RebalanceInProgress, kafka.UnknownMemberId, kafka.IllegalGeneration, kafka.MemberIDRequired:
			return true
		}
		return kerr.Temporary()
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr)
}

// CommitMessages is kafka.Reader.CommitMessages on the current Reader.
// Records fetched by a replaced Reader are committed through its successor:
// a commit only needs a live member of the group, and the records before
// the offset committed were all written.
func (g *groupReader) CommitMessages(ctx context.Context, msgs ...kafka.Message) error {
	for {
		r, gone, err := g.current(ctx)
		if err != nil {
			return err
		}
		err = r.CommitMessages(ctx, msgs...)
		if err != nil && ctx.Err() == nil && isClosed(gone) {
			continue
		}
		return err
	}
}

// Progress returns a copy of what each partition delivered so far.
func (g *groupReader) Progress() map[int]partitionProgress {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[int]partitionProgress, len(g.progress))
	for p, v := range g.progress {
		out[p] = v
	}
	return out
}

// Rebuild closes the current Reader (it leaves the group: its partitions
// are reassigned at once) and puts a new one in its place, which joins the
// group again and starts from the committed offsets. Records fetched but not
// yet committed are fetched again: bounded duplicates, collapsed by
// event_id, never loss. It reports false if the reader was closed or is
// being rebuilt already.
func (g *groupReader) Rebuild() bool {
	g.mu.Lock()
	old := g.r
	if old == nil || g.closed {
		g.mu.Unlock()
		return false
	}
	g.r, g.ready = nil, make(chan struct{})
	close(g.gone)
	g.mu.Unlock()

	// Leave first, then join: one rebalance, not two.
	g.closeBounded(old)

	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		close(g.ready)
		return false
	}
	g.clientID = g.nextClientID()
	g.r, g.gone = g.newReader(g.clientID), make(chan struct{})
	close(g.ready)
	return true
}

// closeBounded closes r, waiting at most closeWait for it.
func (g *groupReader) closeBounded(r *kafka.Reader) {
	done := make(chan error, 1)
	go func() { done <- r.Close() }()
	select {
	case err := <-done:
		if err != nil {
			g.log.Warn("close the replaced kafka reader", "err", err)
		}
	case <-time.After(g.closeWait):
		g.log.Warn("the replaced kafka reader did not close in time; abandoned (its group session expires on its own)",
			"waited", g.closeWait)
	}
}

// Close closes the current Reader (leaving the group). Later calls fail.
func (g *groupReader) Close() error {
	g.mu.Lock()
	r := g.r
	g.closed, g.r = true, nil
	g.mu.Unlock()
	if r == nil {
		return nil
	}
	return r.Close()
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
