// Package mail turns mailboxes (mbox, Maildir, .eml) into contract-v1
// events, pseudonymised at the source: it reads messages as streams, parses
// their MIME structure (github.com/emersion/go-message, charsets decoded by
// golang.org/x/text through the library's charset hook), extracts and
// cleans the body text, excludes machine mail, and maps every address to a
// keyed pseudonym before anything leaves the process. The rules are in
// docs/importers.md.
package mail

import (
	"errors"
	"io"
	"mime"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // registers x/text charsets as message.CharsetReader
	gomail "github.com/emersion/go-message/mail"

	"commpulse/pipeline/importer"
)

// Limits of the parser. A body part larger than MaxPartBytes is read up to
// that size and the rest skipped (the text is truncated, not dropped).
const (
	MaxHeaderBytes = 256 << 10
	MaxPartBytes   = 1 << 20
	MaxDepth       = 8 // multipart nesting
	MaxParts       = 1000
)

// Message is what the importer needs of one e-mail. Addresses are
// normalised (trimmed, lower-cased) and held only in memory; Names (display
// names) are kept only to remove them from the text.
type Message struct {
	MessageID  string // normalised: no angle brackets, trimmed, lower-cased
	Date       time.Time
	DateRaw    string
	DateErr    error // non-nil when Date is missing or unparsable
	From       string
	To         []string // To, Cc and Bcc, in header order, as written
	Names      []string
	References []string
	InReplyTo  []string
	Subject    string

	Text      string // the chosen body (text/plain, else HTML as text), before stripping
	FromHTML  bool
	Truncated bool // a body part was larger than MaxPartBytes

	HasCalendar    bool // a text/calendar (or application/ics) part
	Attachments    int  // parts skipped as attachments (never read)
	UnknownCharset bool // a text part or header in a charset x/text does not know: decoded best-effort

	Received int // number of Received headers
	header   message.Header

	// Set by sources other than mailboxes (Microsoft Graph): SourceID is
	// the source's stable id of the message, hashed for the event id when
	// there is no Message-ID; ThreadRoot the (normalised) Message-ID of
	// the thread's root when the source knows it otherwise (Graph: from
	// the other messages of the conversation), the thread when References
	// and In-Reply-To name none; ThreadKey the source's thread (Graph's
	// conversationId), the thread when no root is known at all.
	SourceID, ThreadRoot, ThreadKey string
}

// Header returns a header field (for classification).
func (m *Message) Header(k string) string { return m.header.Get(k) }

// AddHeader adds a header field, for sources that give the header as name
// and value pairs (Graph's internetMessageHeaders).
func (m *Message) AddHeader(k, v string) { m.header.Add(k, v) }

// ErrMalformed wraps every parse failure: the message is skipped.
var ErrMalformed = errors.New("malformed message")

// Parse reads one message from r. A message whose header or MIME structure
// is broken (including one cut short) returns an error wrapping
// ErrMalformed; an unknown charset is not an error: its bytes are kept as
// they are, invalid UTF-8 replaced with U+FFFD (best effort, counted
// through UnknownCharset).
func Parse(r io.Reader) (*Message, error) {
	e, err := message.ReadWithOptions(r, &message.ReadOptions{MaxHeaderBytes: MaxHeaderBytes})
	m := &Message{}
	if err != nil {
		if e == nil || !(message.IsUnknownCharset(err) || message.IsUnknownEncoding(err)) {
			return nil, malformed("header")
		}
		if message.IsUnknownEncoding(err) {
			return nil, malformed("unknown transfer encoding")
		}
		m.UnknownCharset = true
	}
	m.header = e.Header
	h := gomail.Header{Header: e.Header}
	if err := m.readHeader(h); err != nil {
		return nil, err
	}
	w := walker{m: m}
	if err := w.entity(e, 0); err != nil {
		return nil, err
	}
	switch {
	case w.plain != "":
		m.Text = w.plain
	case w.html != "":
		m.Text, m.FromHTML = HTMLToText(w.html), true
	}
	return m, nil
}

func malformed(what string) error { return &parseError{what} }

type parseError struct{ what string }

func (e *parseError) Error() string { return "malformed message: " + e.what }
func (e *parseError) Unwrap() error { return ErrMalformed }

func (m *Message) readHeader(h gomail.Header) error {
	if id, err := h.MessageID(); err == nil && id != "" {
		m.MessageID = NormalizeMessageID(id)
	} else if raw := h.Get("Message-Id"); strings.TrimSpace(raw) != "" {
		m.MessageID = NormalizeMessageID(raw)
	}
	m.DateRaw = strings.TrimSpace(h.Get("Date"))
	if m.DateRaw == "" {
		m.DateErr = errors.New("no Date header")
	} else if d, err := h.Date(); err != nil {
		m.DateErr = errors.New("unparsable Date header") // never quotes the value
	} else {
		m.Date = d
	}
	from := m.addresses(h, "From")
	if len(from) == 0 {
		from = m.addresses(h, "Sender")
	}
	if len(from) > 0 {
		m.From = from[0]
	}
	for _, k := range []string{"To", "Cc", "Bcc"} {
		m.To = append(m.To, m.addresses(h, k)...)
	}
	m.References = msgIDs(h, "References")
	m.InReplyTo = msgIDs(h, "In-Reply-To")
	if s, err := h.Subject(); err == nil {
		m.Subject = s
	} else {
		m.Subject = h.Get("Subject")
		m.UnknownCharset = true
	}
	m.Subject = strings.ToValidUTF8(m.Subject, "\uFFFD")
	m.Received = len(h.Values("Received"))
	return nil
}

// addrSpec finds addr-specs in a header the strict parser rejected.
var addrSpec = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`)

// addresses parses an address-list header. When the strict RFC 5322 parser
// fails (common in real mail: unquoted commas in names, bare addresses
// with junk), the addr-specs found in the field are used instead and no
// display name is taken from it.
func (m *Message) addresses(h gomail.Header, key string) []string {
	list, err := h.AddressList(key)
	if err == nil {
		out := make([]string, 0, len(list))
		for _, a := range list {
			if n := importer.NormalizeAddress(a.Address); n != "" {
				out = append(out, n)
			}
			if a.Name != "" {
				m.Names = append(m.Names, a.Name)
			}
		}
		return out
	}
	raw := h.Get(key)
	if dec, derr := new(mime.WordDecoder).DecodeHeader(raw); derr == nil {
		raw = dec
	}
	var out []string
	for _, a := range addrSpec.FindAllString(raw, -1) {
		if n := importer.NormalizeAddress(a); n != "" {
			out = append(out, n)
		}
	}
	// Whatever surrounds the addresses may be names: remember the words for
	// redaction.
	if rest := strings.TrimSpace(addrSpec.ReplaceAllString(raw, " ")); rest != "" {
		m.Names = append(m.Names, rest)
	}
	return out
}

// NormalizeMessageID strips white space and angle brackets and lower-cases
// the id, so that the same message copied by different clients compares
// equal.
func NormalizeMessageID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	return strings.ToLower(strings.TrimSpace(id))
}

var msgIDToken = regexp.MustCompile(`<[^<>\s]+>`)

func msgIDs(h gomail.Header, key string) []string {
	if ids, err := h.MsgIDList(key); err == nil && len(ids) > 0 {
		out := make([]string, 0, len(ids))
		for _, id := range ids {
			if n := NormalizeMessageID(id); n != "" {
				out = append(out, n)
			}
		}
		return out
	}
	var out []string
	for _, t := range msgIDToken.FindAllString(h.Get(key), -1) {
		out = append(out, NormalizeMessageID(t))
	}
	return out
}

// walker walks the MIME tree, reading only the first text/plain and the
// first text/html body parts; every other part is skipped unread (the
// library skips its bytes while looking for the next boundary).
type walker struct {
	m           *Message
	plain, html string
	parts       int
}

func (w *walker) entity(e *message.Entity, depth int) error {
	w.parts++
	if w.parts > MaxParts {
		return malformed("too many parts")
	}
	mt, params, err := e.Header.ContentType()
	if err != nil {
		mt = "text/plain" // RFC 2045 default, also for a broken Content-Type
	}
	mt = strings.ToLower(mt)
	if mt == "text/calendar" || mt == "application/ics" {
		w.m.HasCalendar = true
		return nil
	}
	if mr := e.MultipartReader(); mr != nil {
		if depth >= MaxDepth {
			return malformed("multipart nested too deep")
		}
		if params["boundary"] == "" {
			return malformed("multipart without boundary")
		}
		n := 0
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				if p != nil && (message.IsUnknownCharset(err) || message.IsUnknownEncoding(err)) {
					if message.IsUnknownEncoding(err) {
						w.m.Attachments++ // cannot be decoded: skipped like an attachment
						continue
					}
					w.m.UnknownCharset = true
				} else {
					return malformed("multipart structure")
				}
			}
			n++
			if err := w.entity(p, depth+1); err != nil {
				return err
			}
		}
		if n == 0 {
			return malformed("multipart without parts")
		}
		return nil
	}
	if disp, _, _ := e.Header.ContentDisposition(); strings.EqualFold(disp, "attachment") {
		w.m.Attachments++
		return nil
	}
	switch mt {
	case "text/plain":
		if w.plain != "" {
			return nil
		}
		s, err := w.read(e.Body)
		if err != nil {
			return err
		}
		w.plain = s
		return nil
	case "text/html":
		if w.html != "" {
			return nil
		}
		s, err := w.read(e.Body)
		if err != nil {
			return err
		}
		w.html = s
		return nil
	}
	if depth > 0 || !strings.HasPrefix(mt, "text/") {
		w.m.Attachments++ // images, PDFs, message/rfc822, ...: never read
	}
	return nil
}

// read reads a text part up to MaxPartBytes and skips the rest. A read
// error (a truncated base64 or quoted-printable part, a cut multipart)
// makes the message malformed.
func (w *walker) read(r io.Reader) (string, error) {
	var sb strings.Builder
	n, err := io.Copy(&sb, io.LimitReader(r, MaxPartBytes))
	if err != nil {
		return "", malformed("body part")
	}
	if n == MaxPartBytes {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return "", malformed("body part")
		}
		w.m.Truncated = true
	}
	return strings.ToValidUTF8(sb.String(), "\uFFFD"), nil
}
