package mail

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"commpulse/pipeline/event"
	"commpulse/pipeline/security"
	"commpulse/pipeline/synth"
)

// Skip, exclusion and drop reasons (the keys of Stats' maps).
const (
	SkipMalformed       = "malformed_mime"
	SkipNoDate          = "no_date"
	SkipBadDate         = "bad_date"
	SkipNoSender        = "no_sender"
	SkipNoParticipants  = "no_participants" // an external sender and no company recipient left
	SkipTooManyRecips   = "too_many_recipients"
	SkipMboxGarbage     = "mbox_garbage" // bytes before an mbox's first separator (one per file)
	ExcludeDuplicate    = "duplicate"
	ExcludeLoop         = "mail_loop"
	ExcludeAutoReply    = "auto_reply"
	ExcludeBulk         = "bulk"
	ExcludeCalendar     = "calendar"
	DropSenderNotOptIn  = "sender_not_opted_in"
	DropRecipNotOptIn   = "recipient_not_opted_in" // counts recipients, not messages
	NoteAttachments     = "attachments_skipped"
	NoteUnknownCharset  = "unknown_charset_best_effort"
	NoteTruncatedText   = "text_truncated"
	NoteHTMLBody        = "html_body"
	NoteNoText          = "no_text"
	NoteExternalPartics = "external_participants"
)

// Defaults.
const (
	DefaultMaxReceived  = 30
	DefaultMaxTextBytes = 32 << 10
)

// Topics the records go to.
type Topics struct{ Events, Directory, Consent string }

// DefaultTopics are ingest's defaults.
var DefaultTopics = Topics{Events: "comms.events", Directory: "comms.directory", Consent: "comms.consent"}

// Config of an Importer.
type Config struct {
	// Pseudonymizer maps every address, domain and message id to a keyed
	// hash. Required: without a key there is no pseudonymisation at the
	// source.
	Pseudonymizer *security.Pseudonymizer
	// Domains are the company's mail domains; their sub-domains count too.
	// Addresses outside them become one external participant per domain.
	Domains []string
	// Consent, when non-nil, is the set of opted-in (normalised) addresses:
	// company people not in it are dropped.
	Consent      map[string]bool
	MaxReceived  int // more Received headers than this: a mail loop (0: DefaultMaxReceived)
	MaxTextBytes int // text longer than this is cut at a rune boundary (0: DefaultMaxTextBytes)
	Topics       Topics
	Now          func() time.Time // for the future-date check (nil: time.Now)
}

// Record is one Kafka record.
type Record struct {
	Topic      string
	Key, Value []byte
}

// Stats counts what happened to every message read.
type Stats struct {
	Messages int // messages read (including skipped and excluded ones)
	Imported int
	Skipped  map[string]int
	Excluded map[string]int
	Dropped  map[string]int
	Notes    map[string]int
}

func newStats() Stats {
	return Stats{Skipped: map[string]int{}, Excluded: map[string]int{}, Dropped: map[string]int{}, Notes: map[string]int{}}
}

// String is the summary line: counts and reasons, never content.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "read %d, imported %d", s.Messages, s.Imported)
	for _, g := range []struct {
		name string
		m    map[string]int
	}{{"skipped", s.Skipped}, {"excluded", s.Excluded}, {"dropped", s.Dropped}, {"notes", s.Notes}} {
		fmt.Fprintf(&b, "; %s %d", g.name, total(g.m))
		if len(g.m) > 0 {
			b.WriteString(" (" + formatCounts(g.m) + ")")
		}
	}
	return b.String()
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// Importer converts messages to event records. Not safe for concurrent
// use. Its memory grows by one 16-byte key per distinct message (the
// duplicate guard), never with message size.
type Importer struct {
	cfg   Config
	seen  map[[16]byte]struct{}
	stats Stats
	read  atomic.Int64 // Stats.Messages, readable while importing
}

// Read returns the number of messages read so far. Unlike the rest of the
// Importer it is safe to call from another goroutine (progress reports).
func (im *Importer) Read() int64 { return im.read.Load() }

// New checks cfg and returns an Importer.
func New(cfg Config) (*Importer, error) {
	if cfg.Pseudonymizer == nil {
		return nil, errors.New("a pseudonymisation key is required")
	}
	if len(cfg.Domains) == 0 {
		return nil, errors.New("at least one company domain is required")
	}
	for i, d := range cfg.Domains {
		d = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(d), "@")))
		if d == "" || strings.ContainsAny(d, "@ \t,") || !strings.Contains(d, ".") {
			return nil, fmt.Errorf("domain %d: not a mail domain", i+1)
		}
		cfg.Domains[i] = d
	}
	if cfg.MaxReceived <= 0 {
		cfg.MaxReceived = DefaultMaxReceived
	}
	if cfg.MaxTextBytes <= 0 {
		cfg.MaxTextBytes = DefaultMaxTextBytes
	}
	if cfg.Topics == (Topics{}) {
		cfg.Topics = DefaultTopics
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Importer{cfg: cfg, seen: map[[16]byte]struct{}{}, stats: newStats()}, nil
}

// Stats returns a copy of the counts so far.
func (im *Importer) Stats() Stats {
	s := im.stats
	s.Skipped, s.Excluded, s.Dropped, s.Notes = clone(s.Skipped), clone(s.Excluded), clone(s.Dropped), clone(s.Notes)
	return s
}

func clone(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// NoteGarbage counts an mbox that had bytes before its first separator.
func (im *Importer) NoteGarbage() { im.stats.Skipped[SkipMboxGarbage]++ }

// Internal reports whether a (normalised) address is in a company domain.
func (im *Importer) Internal(addr string) bool {
	return im.internalDomain(addr[strings.LastIndexByte(addr, '@')+1:])
}

func (im *Importer) internalDomain(d string) bool {
	for _, c := range im.cfg.Domains {
		if d == c || strings.HasSuffix(d, "."+c) {
			return true
		}
	}
	return false
}

// PersonID is the pseudonym of a company address: security.Pseudonymizer.ID
// of the normalised address, the same function ingest's
// --pseudonym-key-file applies.
func (im *Importer) PersonID(addr string) string {
	return im.cfg.Pseudonymizer.ID(NormalizeAddress(addr))
}

// ExternalID is the one pseudonymous participant standing for every
// address of an external domain: the keyed hash of "external:" + domain.
func (im *Importer) ExternalID(domain string) string {
	return im.cfg.Pseudonymizer.ID("external:" + strings.ToLower(domain))
}

// participant maps an address to its id.
func (im *Importer) participant(addr string) (id string, internal bool) {
	d := addr[strings.LastIndexByte(addr, '@')+1:]
	if im.internalDomain(d) {
		return im.cfg.Pseudonymizer.ID(addr), true
	}
	return im.ExternalID(d), false
}

// keyed returns prefix + the hex of a keyed hash of s (ids that are not
// persons: they must not look like, nor be joinable with, person ids).
func (im *Importer) keyed(prefix, s string) string {
	return prefix + strings.TrimPrefix(im.cfg.Pseudonymizer.ID(s), "h_")
}

// EventID is the event id of a message: the keyed hash of its normalised
// Message-ID, or, without one, of its Date, From, Subject and body text.
func (im *Importer) EventID(m *Message) string {
	if m.MessageID != "" {
		return im.keyed("m_", "message-id:"+m.MessageID)
	}
	body := sha256.Sum256([]byte(m.Text))
	return im.keyed("m_", "no-message-id:"+m.DateRaw+"\n"+m.From+"\n"+m.Subject+"\n"+hex.EncodeToString(body[:]))
}

// ThreadID is the keyed hash of the thread's root: the first References
// id, else the first In-Reply-To id, else the message itself.
func (im *Importer) ThreadID(m *Message, eventID string) string {
	switch {
	case len(m.References) > 0:
		return im.keyed("t_", "message-id:"+m.References[0])
	case len(m.InReplyTo) > 0:
		return im.keyed("t_", "message-id:"+m.InReplyTo[0])
	case m.MessageID != "":
		return im.keyed("t_", "message-id:"+m.MessageID)
	}
	return im.keyed("t_", "event:"+eventID)
}

// Exclusion returns why a message is machine mail ("" if it is not), in
// the order loop, auto-reply, bulk, calendar.
func (im *Importer) Exclusion(m *Message) string {
	if m.Received > im.cfg.MaxReceived || m.Header("X-Loop") != "" {
		return ExcludeLoop
	}
	if as := strings.ToLower(strings.TrimSpace(strings.SplitN(m.Header("Auto-Submitted"), ";", 2)[0])); as != "" && as != "no" {
		return ExcludeAutoReply
	}
	if m.Header("X-Autoreply") != "" || m.Header("X-Autorespond") != "" {
		return ExcludeAutoReply
	}
	switch strings.ToLower(strings.TrimSpace(m.Header("Precedence"))) {
	case "auto_reply":
		return ExcludeAutoReply
	case "bulk", "list", "junk":
		return ExcludeBulk
	}
	if m.Header("List-Id") != "" || m.Header("List-Unsubscribe") != "" {
		return ExcludeBulk
	}
	if m.HasCalendar || strings.Contains(strings.ToLower(m.Header("Content-Class")), "calendarmessage") {
		return ExcludeCalendar
	}
	return ""
}

// Import reads one message and returns its event record, or nil when it is
// skipped, excluded or dropped (and counted). The error is only for a
// reader that fails outside the message (a read error of the file); a
// broken message is a counted skip.
func (im *Importer) Import(r io.Reader) (*Record, error) {
	im.stats.Messages++
	im.read.Add(1)
	m, err := Parse(r)
	if err != nil {
		if errors.Is(err, ErrMalformed) {
			im.stats.Skipped[SkipMalformed]++
			return nil, nil
		}
		return nil, err
	}
	ev, reason := im.convert(m)
	if reason != "" {
		return nil, nil
	}
	im.stats.Imported++
	return &Record{Topic: im.cfg.Topics.Events, Key: []byte(ev.Sender), Value: synth.Marshal(ev)}, nil
}

// convert applies the rules to one parsed message; a non-empty reason
// means it was counted and produces nothing.
func (im *Importer) convert(m *Message) (event.Event, string) {
	skip := func(r string) (event.Event, string) { im.stats.Skipped[r]++; return event.Event{}, r }
	exclude := func(r string) (event.Event, string) { im.stats.Excluded[r]++; return event.Event{}, r }
	if m.Attachments > 0 {
		im.stats.Notes[NoteAttachments] += m.Attachments
	}
	if m.UnknownCharset {
		im.stats.Notes[NoteUnknownCharset]++
	}
	id := im.EventID(m)
	var key [16]byte
	if _, err := hex.Decode(key[:], []byte(id[2:])); err != nil {
		panic("mail: event id is not hex") // keyed() always returns hex
	}
	if _, dup := im.seen[key]; dup {
		return exclude(ExcludeDuplicate)
	}
	if r := im.Exclusion(m); r != "" {
		im.seen[key] = struct{}{}
		return exclude(r)
	}
	if m.DateErr != nil {
		if m.DateRaw == "" {
			return skip(SkipNoDate)
		}
		return skip(SkipBadDate)
	}
	if m.Date.Year() < 2000 || m.Date.After(im.cfg.Now().Add(event.DefaultLimits.MaxFuture)) {
		return skip(SkipBadDate)
	}
	if m.From == "" {
		return skip(SkipNoSender)
	}
	sender, senderInternal := im.participant(m.From)
	if senderInternal && im.cfg.Consent != nil && !im.cfg.Consent[m.From] {
		im.stats.Dropped[DropSenderNotOptIn]++
		return event.Event{}, DropSenderNotOptIn
	}
	recips := make([]string, 0, len(m.To))
	seen := map[string]bool{sender: true}
	internalRecips, external := 0, !senderInternal
	for _, a := range m.To {
		rid, internal := im.participant(a)
		if seen[rid] {
			continue
		}
		if internal && im.cfg.Consent != nil && !im.cfg.Consent[a] {
			im.stats.Dropped[DropRecipNotOptIn]++
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
		return skip(SkipNoParticipants)
	}
	if len(recips) > event.DefaultLimits.MaxRecipients {
		return skip(SkipTooManyRecips)
	}
	if external {
		im.stats.Notes[NoteExternalPartics]++
	}
	im.seen[key] = struct{}{}
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
// signature, addresses and participants' names redacted, valid UTF-8, cut
// to MaxTextBytes.
func (im *Importer) text(m *Message) string {
	if m.FromHTML {
		im.stats.Notes[NoteHTMLBody]++
	}
	t := Redact(StripReply(m.Text), m.Names)
	t = strings.ToValidUTF8(t, "\uFFFD")
	// Control characters other than tab and newline carry nothing.
	t = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, t)
	if m.Truncated || len(t) > im.cfg.MaxTextBytes {
		im.stats.Notes[NoteTruncatedText]++
	}
	if len(t) > im.cfg.MaxTextBytes {
		cut := im.cfg.MaxTextBytes
		for cut > 0 && !utf8.RuneStart(t[cut]) {
			cut--
		}
		t = t[:cut]
	}
	if strings.TrimSpace(t) == "" {
		im.stats.Notes[NoteNoText]++
		return ""
	}
	return t
}

// ConsentRecords returns an opted-in consent record for every company
// address of the list (external ones are not people and are skipped), at
// the given time.
func (im *Importer) ConsentRecords(addrs []string, at time.Time) []Record {
	var out []Record
	for _, a := range addrs {
		if a = NormalizeAddress(a); a == "" || !im.Internal(a) {
			continue
		}
		p := im.PersonID(a)
		out = append(out, Record{Topic: im.cfg.Topics.Consent, Key: []byte(p),
			Value: synth.MarshalConsent(event.Consent{Person: p, OptedIn: true, At: at})})
	}
	return out
}

// DirectoryRecords returns a directory record per company address.
func (im *Importer) DirectoryRecords(teams map[string]string, validFrom time.Time) []Record {
	addrs := make([]string, 0, len(teams))
	for a := range teams {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	var out []Record
	for _, a := range addrs {
		n := NormalizeAddress(a)
		if n == "" || !im.Internal(n) {
			continue
		}
		p := im.PersonID(n)
		out = append(out, Record{Topic: im.cfg.Topics.Directory, Key: []byte(p),
			Value: synth.MarshalDirectory(event.Directory{Person: p, Team: teams[a], ValidFrom: validFrom})})
	}
	return out
}

// ImportInput imports every message of one input file, handing each record
// to emit. wrap, if set, wraps the file's reader (the command counts bytes
// for progress with it). Only a read error of the file or an error of emit
// stops it.
func (im *Importer) ImportInput(in Input, wrap func(io.Reader) io.Reader, emit func(Record) error) error {
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
