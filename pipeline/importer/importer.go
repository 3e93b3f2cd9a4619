// Package importer holds what every `commpulse import <source>` shares:
// pseudonymisation at the source (company people by their normalised
// address, external participants one per domain, keyed hashes for message
// and thread ids), the consent list, directory and consent records, the
// redaction and clean-up of text, the duplicate guard and the counts of
// what was read, imported, skipped, excluded and dropped. The sources
// (pipeline/importer/mail, pipeline/importer/slack) only parse their format
// and apply their rules on top of it. The rules are in docs/importers.md.
package importer

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"commpulse/internal/synth"
	"commpulse/pipeline/event"
	"commpulse/pipeline/privacy"
)

// Reasons every source uses (the keys of Stats' maps).
const (
	SkipNoParticipants  = "no_participants" // an external sender and no company recipient left
	SkipTooManyRecips   = "too_many_recipients"
	ExcludeDuplicate    = "duplicate"
	DropSenderNotOptIn  = "sender_not_opted_in"
	DropRecipNotOptIn   = "recipient_not_opted_in" // counts recipients, not messages
	NoteTruncatedText   = "text_truncated"
	NoteNoText          = "no_text"
	NoteExternalPartics = "external_participants"
)

// DefaultMaxTextBytes is where a message's text is cut.
const DefaultMaxTextBytes = 32 << 10

// Topics the records go to.
type Topics = event.Topics

// DefaultTopics are ingest's defaults.
var DefaultTopics = event.DefaultTopics

// Record is one Kafka record.
type Record struct {
	Topic      string
	Key, Value []byte
}

// Config is what every source is configured with.
type Config struct {
	// Pseudonymizer maps every address, domain and message id to a keyed
	// hash. Required: without a key there is no pseudonymisation at the
	// source.
	Pseudonymizer *privacy.Pseudonymizer
	// Domains are the company's mail domains; their sub-domains count too.
	// Addresses outside them become one external participant per domain.
	Domains []string
	// Consent, when non-nil, is the set of opted-in (normalised) addresses:
	// company people not in it are dropped.
	Consent      map[string]bool
	MaxTextBytes int // text longer than this is cut at a rune boundary (0: DefaultMaxTextBytes)
	Topics       Topics
	Now          func() time.Time // for the future-date check (nil: time.Now)
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

func clone(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Base is embedded by every source's importer: identities, consent,
// records, text clean-up, the duplicate guard and the counts. Not safe for
// concurrent use, except Read.
type Base struct {
	cfg   Config
	seen  map[[16]byte]struct{}
	stats Stats
	read  atomic.Int64 // Stats.Messages, readable while importing
}

// NewBase checks cfg, fills its defaults and returns a Base.
func NewBase(cfg Config) (*Base, error) {
	if cfg.Pseudonymizer == nil {
		return nil, errors.New("a pseudonymisation key is required")
	}
	if len(cfg.Domains) == 0 {
		return nil, errors.New("at least one company domain is required")
	}
	doms := make([]string, len(cfg.Domains))
	for i, d := range cfg.Domains {
		d = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(d), "@")))
		if d == "" || strings.ContainsAny(d, "@ \t,") || !strings.Contains(d, ".") {
			return nil, fmt.Errorf("domain %d: not a mail domain", i+1)
		}
		doms[i] = d
	}
	cfg.Domains = doms
	if cfg.MaxTextBytes <= 0 {
		cfg.MaxTextBytes = DefaultMaxTextBytes
	}
	if cfg.Topics == (Topics{}) {
		cfg.Topics = DefaultTopics
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Base{cfg: cfg, seen: map[[16]byte]struct{}{},
		stats: Stats{Skipped: map[string]int{}, Excluded: map[string]int{}, Dropped: map[string]int{}, Notes: map[string]int{}}}, nil
}

// Config returns the configuration with its defaults filled in.
func (b *Base) Config() Config { return b.cfg }

// Read returns the number of messages read so far. Unlike the rest of Base
// it is safe to call from another goroutine (progress reports).
func (b *Base) Read() int64 { return b.read.Load() }

// Stats returns a copy of the counts so far.
func (b *Base) Stats() Stats {
	s := b.stats
	s.Skipped, s.Excluded, s.Dropped, s.Notes = clone(s.Skipped), clone(s.Excluded), clone(s.Dropped), clone(s.Notes)
	return s
}

// CountRead counts one message read; CountImported one imported.
func (b *Base) CountRead()     { b.stats.Messages++; b.read.Add(1) }
func (b *Base) CountImported() { b.stats.Imported++ }

// Skip, Exclude, Drop and Note count a reason (Note by n).
func (b *Base) Skip(reason string)        { b.stats.Skipped[reason]++ }
func (b *Base) Exclude(reason string)     { b.stats.Excluded[reason]++ }
func (b *Base) Drop(reason string)        { b.stats.Dropped[reason]++ }
func (b *Base) Note(reason string, n int) { b.stats.Notes[reason] += n }

// Internal reports whether a (normalised) address is in a company domain.
func (b *Base) Internal(addr string) bool {
	return b.InternalDomain(addr[strings.LastIndexByte(addr, '@')+1:])
}

// InternalDomain reports whether d is a company domain or a sub-domain of one.
func (b *Base) InternalDomain(d string) bool {
	for _, c := range b.cfg.Domains {
		if d == c || strings.HasSuffix(d, "."+c) {
			return true
		}
	}
	return false
}

// PersonID is the pseudonym of a company address: privacy.Pseudonymizer.ID
// of the normalised address, the same function ingest's
// --pseudonym-key-file applies.
func (b *Base) PersonID(addr string) string {
	return b.cfg.Pseudonymizer.ID(NormalizeAddress(addr))
}

// ExternalID is the one pseudonymous participant standing for every
// address of an external domain: the keyed hash of "external:" + domain.
func (b *Base) ExternalID(domain string) string {
	return b.cfg.Pseudonymizer.ID("external:" + strings.ToLower(domain))
}

// Participant maps a normalised address to its id: the person id in a
// company domain, else the external participant of its domain.
func (b *Base) Participant(addr string) (id string, internal bool) {
	d := addr[strings.LastIndexByte(addr, '@')+1:]
	if b.InternalDomain(d) {
		return b.cfg.Pseudonymizer.ID(addr), true
	}
	return b.ExternalID(d), false
}

// OptedIn reports whether a normalised company address may be imported:
// always without a consent list, else when it is on it.
func (b *Base) OptedIn(addr string) bool { return b.cfg.Consent == nil || b.cfg.Consent[addr] }

// HasConsentList reports whether a consent list was given.
func (b *Base) HasConsentList() bool { return b.cfg.Consent != nil }

// Keyed returns prefix + the hex of a keyed hash of s (ids that are not
// persons: they must not look like, nor be joinable with, person ids).
func (b *Base) Keyed(prefix, s string) string {
	return prefix + strings.TrimPrefix(b.cfg.Pseudonymizer.ID(s), "h_")
}

func seenKey(id string) [16]byte {
	var key [16]byte
	if _, err := hex.Decode(key[:], []byte(id[strings.IndexByte(id, '_')+1:])); err != nil {
		panic("importer: id is not a Keyed id") // Keyed always returns hex
	}
	return key
}

// Seen reports whether an event id (from Keyed) was marked in this run;
// MarkSeen marks it. The guard holds 16 bytes per id.
func (b *Base) Seen(id string) bool { _, ok := b.seen[seenKey(id)]; return ok }
func (b *Base) MarkSeen(id string)  { b.seen[seenKey(id)] = struct{}{} }

// EventRecord counts an imported event and returns its record.
func (b *Base) EventRecord(ev event.Event) Record {
	b.CountImported()
	return Record{Topic: b.cfg.Topics.Events, Key: []byte(ev.Sender), Value: synth.Marshal(ev)}
}

// CheckTime reports whether an occurred-at time is plausible: not before
// 2000 and not further ahead than the contract accepts.
func (b *Base) CheckTime(t time.Time) bool {
	return t.Year() >= 2000 && !t.After(b.cfg.Now().Add(event.DefaultLimits.MaxFuture))
}

// Text finishes a message's text: invalid UTF-8 replaced, control
// characters other than tab and newline removed, cut to MaxTextBytes at a
// rune boundary (counted, also when truncated says the source already cut
// it); "" when nothing is left (counted).
func (b *Base) Text(t string, truncated bool) string {
	t = strings.ToValidUTF8(t, "\uFFFD")
	t = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, t)
	if truncated || len(t) > b.cfg.MaxTextBytes {
		b.Note(NoteTruncatedText, 1)
	}
	if len(t) > b.cfg.MaxTextBytes {
		cut := b.cfg.MaxTextBytes
		for cut > 0 && !utf8.RuneStart(t[cut]) {
			cut--
		}
		t = t[:cut]
	}
	if strings.TrimSpace(t) == "" {
		b.Note(NoteNoText, 1)
		return ""
	}
	return t
}

// ConsentRecords returns an opted-in consent record for every company
// address of the list (external ones are not people and are skipped), at
// the given time.
func (b *Base) ConsentRecords(addrs []string, at time.Time) []Record {
	var out []Record
	for _, a := range addrs {
		if a = NormalizeAddress(a); a == "" || !b.Internal(a) {
			continue
		}
		p := b.PersonID(a)
		out = append(out, Record{Topic: b.cfg.Topics.Consent, Key: []byte(p),
			Value: synth.MarshalConsent(event.Consent{Person: p, OptedIn: true, At: at})})
	}
	return out
}

// NormalizeAddress trims and lower-cases an addr-spec; "" when it is not
// one (no '@', or an empty side).
func NormalizeAddress(a string) string {
	a = strings.ToLower(strings.TrimSpace(a))
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || !utf8.ValidString(a) {
		return ""
	}
	return a
}
