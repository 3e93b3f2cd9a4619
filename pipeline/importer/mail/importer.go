package mail

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"commpulse/pipeline/event"
	"commpulse/pipeline/importer"
)

// Skip, exclusion and note reasons of mail (the keys of importer.Stats'
// maps; the ones every source shares are in package importer).
const (
	SkipMalformed      = "malformed_mime"
	SkipNoDate         = "no_date"
	SkipBadDate        = "bad_date"
	SkipNoSender       = "no_sender"
	SkipMboxGarbage    = "mbox_garbage" // bytes before an mbox's first separator (one per file)
	ExcludeLoop        = "mail_loop"
	ExcludeAutoReply   = "auto_reply"
	ExcludeBulk        = "bulk"
	ExcludeCalendar    = "calendar"
	NoteAttachments    = "attachments_skipped"
	NoteUnknownCharset = "unknown_charset_best_effort"
	NoteHTMLBody       = "html_body"
)

// DefaultMaxReceived: more Received headers than this is a mail loop.
const DefaultMaxReceived = 30

// Config of an Importer: the shared settings and mail's own.
type Config struct {
	importer.Config
	MaxReceived int // more Received headers than this: a mail loop (0: DefaultMaxReceived)
}

// Importer converts messages to event records. Not safe for concurrent
// use (except Read). Its memory grows by one 16-byte key per distinct
// message (the duplicate guard), never with message size.
type Importer struct {
	*importer.Base
	maxReceived int
}

// New checks cfg and returns an Importer.
func New(cfg Config) (*Importer, error) {
	b, err := importer.NewBase(cfg.Config)
	if err != nil {
		return nil, err
	}
	if cfg.MaxReceived <= 0 {
		cfg.MaxReceived = DefaultMaxReceived
	}
	return &Importer{Base: b, maxReceived: cfg.MaxReceived}, nil
}

// NewWithBase returns an Importer that shares b (its counts and duplicate
// guard): a source that reads mail among other things (Microsoft Graph)
// applies mail's rules through it, with Convert.
func NewWithBase(b *importer.Base, maxReceived int) *Importer {
	if maxReceived <= 0 {
		maxReceived = DefaultMaxReceived
	}
	return &Importer{Base: b, maxReceived: maxReceived}
}

// Convert applies the rules to one message built by another source (the
// caller counts it read): its event, or the reason it was counted and
// produces nothing.
func (im *Importer) Convert(m *Message) (event.Event, string) { return im.convert(m) }

// NoteGarbage counts an mbox that had bytes before its first separator.
func (im *Importer) NoteGarbage() { im.Skip(SkipMboxGarbage) }

// EventID is the event id of a message: the keyed hash of its normalised
// Message-ID, or, without one, of its Date, From, Subject and body text.
func (im *Importer) EventID(m *Message) string {
	if m.MessageID != "" {
		return MessageEventID(im.Base, m.MessageID)
	}
	if m.SourceID != "" {
		return im.Keyed("m_", "source-id:"+m.SourceID)
	}
	body := sha256.Sum256([]byte(m.Text))
	return im.Keyed("m_", "no-message-id:"+m.DateRaw+"\n"+m.From+"\n"+m.Subject+"\n"+hex.EncodeToString(body[:]))
}

// ThreadID is the keyed hash of the thread's root: the first References
// id, else the first In-Reply-To id, else the message itself.
func (im *Importer) ThreadID(m *Message, eventID string) string {
	switch {
	case len(m.References) > 0:
		return MessageThreadID(im.Base, m.References[0])
	case len(m.InReplyTo) > 0:
		return MessageThreadID(im.Base, m.InReplyTo[0])
	case m.ThreadRoot != "":
		return MessageThreadID(im.Base, m.ThreadRoot)
	case m.ThreadKey != "":
		return im.Keyed("t_", "source-thread:"+m.ThreadKey)
	case m.MessageID != "":
		return MessageThreadID(im.Base, m.MessageID)
	}
	return im.Keyed("t_", "event:"+eventID)
}

// MessageEventID is the event id of a mail with a Message-ID (normalised
// by NormalizeMessageID): every source of mail (mailboxes here, Microsoft
// Graph's internetMessageId in pipeline/importer/graph) uses it, so that
// the same mail imported from two sources is one row after dedup.
func MessageEventID(b *importer.Base, messageID string) string {
	return b.Keyed("m_", "message-id:"+messageID)
}

// MessageThreadID is the thread id of a thread whose root has the
// (normalised) Message-ID rootID, shared like MessageEventID.
func MessageThreadID(b *importer.Base, rootID string) string {
	return b.Keyed("t_", "message-id:"+rootID)
}

// Exclusion returns why a message is machine mail ("" if it is not), in
// the order loop, auto-reply, bulk, calendar.
func (im *Importer) Exclusion(m *Message) string {
	if m.Received > im.maxReceived {
		return ExcludeLoop
	}
	r := HeaderExclusion(m.Header)
	if r == "" && m.HasCalendar {
		r = ExcludeCalendar
	}
	return r
}

// HeaderExclusion is the part of the machine-mail rules that reads only
// header fields (get returns a field's first value, "" when absent), in
// the order loop, auto-reply, bulk, calendar. The Graph importer applies
// it to a message's internetMessageHeaders, so both sources exclude the
// same mail.
func HeaderExclusion(get func(string) string) string {
	if get("X-Loop") != "" {
		return ExcludeLoop
	}
	if as := strings.ToLower(strings.TrimSpace(strings.SplitN(get("Auto-Submitted"), ";", 2)[0])); as != "" && as != "no" {
		return ExcludeAutoReply
	}
	// Exchange and Outlook put X-Auto-Response-Suppress on what they
	// generate themselves (out-of-office replies, notifications), and
	// mass senders on what they send, so that nobody auto-replies to them.
	if get("X-Autoreply") != "" || get("X-Autorespond") != "" || strings.TrimSpace(get("X-Auto-Response-Suppress")) != "" {
		return ExcludeAutoReply
	}
	switch strings.ToLower(strings.TrimSpace(get("Precedence"))) {
	case "auto_reply":
		return ExcludeAutoReply
	case "bulk", "list", "junk":
		return ExcludeBulk
	}
	if get("List-Id") != "" || get("List-Unsubscribe") != "" {
		return ExcludeBulk
	}
	if strings.Contains(strings.ToLower(get("Content-Class")), "calendarmessage") {
		return ExcludeCalendar
	}
	return ""
}

// Import reads one message and returns its event record, or nil when it is
// skipped, excluded or dropped (and counted). The error is only for a
// reader that fails outside the message (a read error of the file); a
// broken message is a counted skip.
func (im *Importer) Import(r io.Reader) (*importer.Record, error) {
	im.CountRead()
	m, err := Parse(r)
	if err != nil {
		if errors.Is(err, ErrMalformed) {
			im.Skip(SkipMalformed)
			return nil, nil
		}
		return nil, err
	}
	ev, reason := im.convert(m)
	if reason != "" {
		return nil, nil
	}
	rec := im.EventRecord(ev)
	return &rec, nil
}

// convert applies the rules to one parsed message; a non-empty reason
// means it was counted and produces nothing.
func (im *Importer) convert(m *Message) (event.Event, string) {
	skip := func(r string) (event.Event, string) { im.Skip(r); return event.Event{}, r }
	exclude := func(r string) (event.Event, string) { im.Exclude(r); return event.Event{}, r }
	if m.Attachments > 0 {
		im.Note(NoteAttachments, m.Attachments)
	}
	if m.UnknownCharset {
		im.Note(NoteUnknownCharset, 1)
	}
	id := im.EventID(m)
	if im.Seen(id) {
		return exclude(importer.ExcludeDuplicate)
	}
	if r := im.Exclusion(m); r != "" {
		im.MarkSeen(id)
		return exclude(r)
	}
	if m.DateErr != nil {
		if m.DateRaw == "" {
			return skip(SkipNoDate)
		}
		return skip(SkipBadDate)
	}
	if !im.CheckTime(m.Date) {
		return skip(SkipBadDate)
	}
	if m.From == "" {
		return skip(SkipNoSender)
	}
	sender, senderInternal := im.Participant(m.From)
	if senderInternal && !im.OptedIn(m.From) {
		im.Drop(importer.DropSenderNotOptIn)
		return event.Event{}, importer.DropSenderNotOptIn
	}
	recips := make([]string, 0, len(m.To))
	seen := map[string]bool{sender: true}
	internalRecips, external := 0, !senderInternal
	for _, a := range m.To {
		rid, internal := im.Participant(a)
		if seen[rid] {
			continue
		}
		if internal && !im.OptedIn(a) {
			im.Drop(importer.DropRecipNotOptIn)
			seen[rid] = true
			continue
		}
		seen[rid] = true
		recips = append(recips, rid)
		if internal {
			internalRecips++
		} else {
			external = true
		}
	}
	if !senderInternal && internalRecips == 0 {
		return skip(importer.SkipNoParticipants)
	}
	if len(recips) > event.DefaultLimits.MaxRecipients {
		return skip(importer.SkipTooManyRecips)
	}
	if external {
		im.Note(importer.NoteExternalPartics, 1)
	}
	im.MarkSeen(id)
	ev := event.Event{
		Schema:     event.SchemaVersion,
		EventID:    id,
		OccurredAt: m.Date.UTC(),
		Channel:    event.ChannelEmail,
		Sender:     sender,
		Recipients: recips,
		ThreadID:   im.ThreadID(m, id),
		Consent:    true,
	}
	ev.Text = im.text(m)
	return ev, ""
}

// text is the body as it goes into the event: stripped of quotes and
// signature, addresses and participants' names redacted, then finished by
// importer.Base.Text (valid UTF-8, no control characters, cut).
func (im *Importer) text(m *Message) string {
	if m.FromHTML {
		im.Note(NoteHTMLBody, 1)
	}
	return im.Text(importer.Redact(StripReply(m.Text), m.Names), m.Truncated)
}

// ImportInput imports every message of one input file, handing each record
// to emit. wrap, if set, wraps the file's reader (the command counts bytes
// for progress with it). Only a read error of the file or an error of emit
// stops it.
func (im *Importer) ImportInput(in Input, wrap func(io.Reader) io.Reader, emit func(importer.Record) error) error {
	garbage, err := Each(in, wrap, func(r Raw) error {
		rec, err := im.Import(r.Body)
		if err != nil {
			return fmt.Errorf("%s message %d: %w", r.Path, r.N, err)
		}
		if rec != nil {
			return emit(*rec)
		}
		return nil
	})
	if garbage > 0 {
		im.NoteGarbage()
	}
	return err
}
