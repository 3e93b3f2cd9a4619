package importer

import (
	"fmt"

	"commpulse/pipeline/event"
)

// DefaultBroadcastMax is the chat sources' (Slack, Teams): a recipient set
// larger than this is no recipient set (a message to a large channel is not
// a message to each member).
const DefaultBroadcastMax = 50

// BroadcastMax returns n, or DefaultBroadcastMax for 0, and refuses a
// value outside 1..event.DefaultLimits.MaxRecipients.
func BroadcastMax(n int) (int, error) {
	if n == 0 {
		n = DefaultBroadcastMax
	}
	if n < 1 || n > event.DefaultLimits.MaxRecipients {
		return 0, fmt.Errorf("broadcast max %d: want 1..%d", n, event.DefaultLimits.MaxRecipients)
	}
	return n, nil
}

// Recipients collects the recipients of one chat message (Slack, Teams):
// each person once and never the sender, people who did not opt in dropped
// and counted. Both chat sources use it, so their rules cannot drift apart;
// each decides only who the candidates are.
type Recipients struct {
	b              *Base
	ids            []string
	seen           map[string]bool
	internal       int  // company recipients kept
	external       bool // an external participant, sender included
	senderInternal bool
}

// NewRecipients starts the recipients of a message from sender.
func (b *Base) NewRecipients(senderID string, senderInternal bool) *Recipients {
	return &Recipients{b: b, seen: map[string]bool{senderID: true}, external: !senderInternal, senderInternal: senderInternal}
}

// Add adds a participant by its pseudonymous id; one not opted in is
// dropped and counted (DropRecipNotOptIn).
func (r *Recipients) Add(id string, internal, optedIn bool) {
	if r.seen[id] {
		return
	}
	r.seen[id] = true
	if !optedIn {
		r.b.Drop(DropRecipNotOptIn)
		return
	}
	r.ids = append(r.ids, id)
	if internal {
		r.internal++
	} else {
		r.external = true
	}
}

// Done returns the recipients, or the skip reason of a message that must
// not be sent: an external sender with no company recipient left
// (SkipNoParticipants), more recipients than the contract allows
// (SkipTooManyRecips). A message sent with external participants is counted.
func (r *Recipients) Done() (ids []string, skip string) {
	switch {
	case !r.senderInternal && r.internal == 0:
		return nil, SkipNoParticipants
	case len(r.ids) > event.DefaultLimits.MaxRecipients:
		return nil, SkipTooManyRecips
	}
	if r.external {
		r.b.Note(NoteExternalPartics, 1)
	}
	return r.ids, ""
}
