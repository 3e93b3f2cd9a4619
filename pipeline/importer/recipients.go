package importer

import "commpulse/pipeline/event"

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
