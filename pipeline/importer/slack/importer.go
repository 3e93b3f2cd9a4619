package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"commpulse/pipeline/event"
	"commpulse/pipeline/importer"
)

// Skip, exclusion, drop and note reasons of Slack (the keys of
// importer.Stats' maps; the shared ones are in package importer).
const (
	SkipBadTS           = "bad_ts"       // ts missing, unparsable, before 2000 or in the future
	SkipNoSender        = "no_sender"    // a message without user
	SkipUnknownUser     = "unknown_user" // a sender users.json does not list
	SkipMalformed       = "malformed_message"
	SkipInvalidDayFile  = "invalid_day_file" // a day file that is not a JSON array (per file)
	SkipDayFileTooLarge = "day_file_too_large"
	SkipOrphanDayFile   = "orphan_day_file" // a day file in a folder no conversation list names (per file)
	ExcludeNotMessage   = "not_message"     // type other than "message"
	ExcludeBot          = "bot"             // bot_id, subtype bot_message, or a bot/app user
	ExcludeJoinLeave    = "join_leave"
	ExcludeSystem       = "system"            // topic, purpose, renames, archives, pins, reminders, ...
	ExcludeOtherSubtype = "other_subtype"     // a subtype not known to be a person's message
	DropUnknownRecip    = "unknown_recipient" // a member users.json does not list (per recipient)
	NoteBroadcast       = "broadcast_no_recipients"
	NoteFiles           = "files_not_read"
	NoteInvalidUTF8     = "invalid_utf8_replaced" // per day file
	NoteDeletedUser     = "deleted_user_sender"
	NoteNoEmail         = "sender_without_email"
	NoteThreadReply     = "thread_replies"
)

// DefaultBroadcastMax: a recipient set larger than this is no recipient
// set (a message to a large channel is not a message to each member).
const DefaultBroadcastMax = importer.DefaultBroadcastMax

// Subtypes of a person's own message (imported); every other subtype is
// excluded.
var personSubtypes = map[string]bool{"": true, "thread_broadcast": true, "file_share": true, "me_message": true}

var joinLeave = map[string]bool{"channel_join": true, "channel_leave": true, "group_join": true, "group_leave": true,
	"member_joined_channel": true, "member_left_channel": true}

var systemSubtypes = map[string]bool{
	"channel_topic": true, "channel_purpose": true, "channel_name": true, "channel_archive": true, "channel_unarchive": true,
	"group_topic": true, "group_purpose": true, "group_name": true, "group_archive": true, "group_unarchive": true,
	"channel_convert_to_private": true, "channel_convert_to_public": true, "channel_posting_permissions": true,
	"pinned_item": true, "unpinned_item": true, "reminder_add": true, "reminder_delete": true, "tombstone": true,
	"bot_add": true, "bot_remove": true, "bot_enable": true, "bot_disable": true, "app_conversation_join": true,
	"sh_room_created": true, "sh_room_shared": true, "huddle_thread": true, "joiner_notification": true,
	"slackbot_response": true, "ekm_access_denied": true, "file_comment": true, "file_mention": true,
	"message_changed": true, "message_deleted": true, "message_replied": true, "channel_canvas_updated": true,
}

// Config of an Importer: the shared settings and Slack's own.
type Config struct {
	importer.Config
	BroadcastMax    int   // 1..1000 (0: DefaultBroadcastMax)
	MaxDayFileBytes int64 // 0: DefaultMaxDayFileBytes
}

// Importer converts an export's messages to event records. Not safe for
// concurrent use (except Read).
type Importer struct {
	*importer.Base
	broadcastMax int
	maxDay       int64
}

// New checks cfg and returns an Importer.
func New(cfg Config) (*Importer, error) {
	b, err := importer.NewBase(cfg.Config)
	if err != nil {
		return nil, err
	}
	if cfg.BroadcastMax, err = importer.BroadcastMax(cfg.BroadcastMax); err != nil {
		return nil, err
	}
	if cfg.MaxDayFileBytes <= 0 {
		cfg.MaxDayFileBytes = DefaultMaxDayFileBytes
	}
	return &Importer{Base: b, broadcastMax: cfg.BroadcastMax, maxDay: cfg.MaxDayFileBytes}, nil
}

// person is a user as the importer sees them: their participant id and,
// for a company person, the address the consent list is matched on.
type person struct {
	id       string
	addr     string // normalised company address ("" for external ones and users without e-mail)
	internal bool
	bot      bool
	deleted  bool
}

// Person maps a users.json entry to its participant:
//   - a bot or app user is no participant (bot);
//   - a guest (is_restricted, is_ultra_restricted) is the external
//     participant of their e-mail's domain, or of "slack-guest" without one;
//   - a user with an e-mail address is Participant(address): the person id
//     in a company domain (the mail importer's id), else the external
//     participant of the domain;
//   - a member without an e-mail address is the keyed hash of
//     "slack-user:" + their Slack user id.
func (im *Importer) Person(u *User) person {
	p := person{bot: u.Bot, deleted: u.Deleted}
	addr := importer.NormalizeAddress(u.Email)
	switch {
	case u.Restricted:
		d := "slack-guest"
		if addr != "" {
			d = addr[strings.LastIndexByte(addr, '@')+1:]
		}
		p.id = im.ExternalID(d)
	case addr != "":
		p.id, p.internal = im.Participant(addr)
		if p.internal {
			p.addr = addr
		}
	default:
		p.id, p.internal = im.Config().Pseudonymizer.ID("slack-user:"+u.ID), true
	}
	return p
}

// EventID is the keyed hash of a message's conversation and ts;
// ThreadID of its conversation and thread root's ts.
func (im *Importer) EventID(conv, ts string) string {
	return im.Keyed("m_", "slack:"+conv+":"+ts)
}

func (im *Importer) ThreadID(conv, rootTS string) string {
	return im.Keyed("t_", "slack:"+conv+":"+rootTS)
}

// ParseTS parses a Slack ts ("1700000000.123456") into a time.
func ParseTS(ts string) (time.Time, bool) {
	sec, frac, _ := strings.Cut(ts, ".")
	if sec == "" || len(sec) > 12 || len(frac) > 9 {
		return time.Time{}, false
	}
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s < 0 {
		return time.Time{}, false
	}
	var ns int64
	if frac != "" {
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || f < 0 {
			return time.Time{}, false
		}
		ns = f
		for i := len(frac); i < 9; i++ {
			ns *= 10
		}
	}
	return time.Unix(s, ns).UTC(), true
}

// Message is a day file's message, only the fields the importer reads.
type Message struct {
	Type        string     `json:"type"`
	Subtype     string     `json:"subtype"`
	User        string     `json:"user"`
	BotID       string     `json:"bot_id"`
	Text        string     `json:"text"`
	TS          string     `json:"ts"`
	ThreadTS    string     `json:"thread_ts"`
	Files       []struct{} `json:"files"`
	UserProfile *struct {
		RealName    string `json:"real_name"`
		DisplayName string `json:"display_name"`
		Name        string `json:"name"`
		FirstName   string `json:"first_name"`
	} `json:"user_profile"`
}

// ParseDay decodes a day file: a JSON array of messages. A file that is
// not one is an error; an element that is not a message object is
// returned as nil (a counted skip), the others sorted by ts.
func ParseDay(b []byte) ([]*Message, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, errors.New(jsonReason(err))
	}
	out := make([]*Message, len(raw))
	for i, r := range raw {
		var m Message
		if json.Unmarshal(r, &m) == nil {
			out[i] = &m
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i] == nil || out[j] == nil {
			return out[j] != nil
		}
		return tsLess(out[i].TS, out[j].TS)
	})
	return out, nil
}

// tsLess orders ts strings numerically (equal-width seconds compare as
// strings; Slack's ts always have 10 digits until 2286).
func tsLess(a, b string) bool {
	if len(a) != len(b) {
		ai, _, _ := strings.Cut(a, ".")
		bi, _, _ := strings.Cut(b, ".")
		if len(ai) != len(bi) {
			return len(ai) < len(bi)
		}
	}
	return a < b
}

// convState is what the import of one conversation remembers: the
// participants of its threads so far (user ids, in order).
type convState struct {
	conv    *Conversation
	threads map[string][]string
}

// ImportExport imports every conversation of ex, handing each record to
// emit. wrap, if set, wraps each day file's reader (progress counts bytes).
// Only a read error of the export or an error of emit stops it; a broken
// day file or message is a counted skip.
func (im *Importer) ImportExport(ex *Export, wrap func(io.Reader) io.Reader, emit func(importer.Record) error) error {
	people := make(map[string]person, len(ex.Users))
	names := importer.NewNames()
	for _, id := range ex.UserOrder {
		u := ex.Users[id]
		people[id] = im.Person(u)
		names.Add(u.Names...)
	}
	for range ex.Orphans {
		im.Skip(SkipOrphanDayFile)
	}
	for ci, conv := range ex.Conversations {
		st := &convState{conv: conv, threads: map[string][]string{}}
		for _, d := range conv.Days {
			b, err := ex.ReadDay(d, im.maxDay, wrap)
			if errors.Is(err, ErrDayTooLarge) {
				im.Skip(SkipDayFileTooLarge)
				continue
			}
			if err != nil {
				return fmt.Errorf("conversation %d (%s) %w", ci+1, conv.ID, err)
			}
			if !utf8.Valid(b) {
				im.Note(NoteInvalidUTF8, 1) // encoding/json replaces it with U+FFFD
			}
			msgs, err := ParseDay(b)
			if err != nil {
				im.Skip(SkipInvalidDayFile)
				continue
			}
			for _, m := range msgs {
				if m == nil {
					im.CountRead()
					im.Skip(SkipMalformed)
					continue
				}
				ev, ok := im.convert(st, m, people, names)
				if !ok {
					continue
				}
				if err := emit(im.EventRecord(ev)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// convert applies the rules to one message; ok false means it was counted
// and produces nothing.
func (im *Importer) convert(st *convState, m *Message, people map[string]person, names importer.Names) (event.Event, bool) {
	im.CountRead()
	skip := func(r string) (event.Event, bool) { im.Skip(r); return event.Event{}, false }
	exclude := func(r string) (event.Event, bool) { im.Exclude(r); return event.Event{}, false }
	if m.Type != "message" {
		return exclude(ExcludeNotMessage)
	}
	at, ok := ParseTS(m.TS)
	if !ok {
		return skip(SkipBadTS)
	}
	conv := st.conv
	id := im.EventID(conv.ID, m.TS)
	if im.Seen(id) {
		return exclude(importer.ExcludeDuplicate)
	}
	sender, known := people[m.User]
	if m.BotID != "" || m.Subtype == "bot_message" || known && sender.bot {
		im.MarkSeen(id)
		return exclude(ExcludeBot)
	}
	if !personSubtypes[m.Subtype] {
		im.MarkSeen(id)
		switch {
		case joinLeave[m.Subtype]:
			return exclude(ExcludeJoinLeave)
		case systemSubtypes[m.Subtype]:
			return exclude(ExcludeSystem)
		}
		return exclude(ExcludeOtherSubtype)
	}
	if !im.CheckTime(at) {
		return skip(SkipBadTS)
	}
	if m.User == "" {
		return skip(SkipNoSender)
	}
	if !known {
		return skip(SkipUnknownUser)
	}

	// The thread: its root is thread_ts, or the message itself. Every
	// person's message counts as a participation, also when it is dropped
	// below (recipients are filtered by consent when they are used).
	root := m.TS
	reply := m.ThreadTS != "" && m.ThreadTS != m.TS
	if m.ThreadTS != "" {
		root = m.ThreadTS
	}
	var candidates []string
	switch {
	case reply:
		candidates = st.threads[root]
		im.Note(NoteThreadReply, 1)
	default:
		candidates = conv.Members
	}
	// Only messages with a thread_ts can have replies: the others are
	// not remembered (memory grows with threads, not with messages).
	if m.ThreadTS != "" && !containsStr(st.threads[root], m.User) {
		st.threads[root] = append(st.threads[root], m.User)
	}

	if sender.internal && sender.addr == "" && im.HasConsentList() {
		im.Drop(importer.DropSenderNotOptIn) // no address: cannot be on the list
		return event.Event{}, false
	}
	if sender.internal && sender.addr != "" && !im.OptedIn(sender.addr) {
		im.Drop(importer.DropSenderNotOptIn)
		return event.Event{}, false
	}
	if sender.deleted {
		im.Note(NoteDeletedUser, 1)
	}
	if sender.internal && sender.addr == "" {
		im.Note(NoteNoEmail, 1)
	}

	// Recipients: the candidates other than the sender, none when there
	// are more than broadcastMax (in practice channels and threads: Slack
	// caps group DMs at 9 members).
	others := 0
	for _, u := range candidates {
		if u != m.User {
			others++
		}
	}
	rs := im.NewRecipients(sender.id, sender.internal)
	if others > im.broadcastMax {
		im.Note(NoteBroadcast, 1)
	} else {
		for _, u := range candidates {
			if u == m.User {
				continue
			}
			p, ok := people[u]
			if !ok {
				im.Drop(DropUnknownRecip)
				continue
			}
			if p.bot {
				continue
			}
			optedIn := !p.internal || (p.addr == "" && !im.HasConsentList()) || (p.addr != "" && im.OptedIn(p.addr))
			rs.Add(p.id, p.internal, optedIn)
		}
	}
	recips, why := rs.Done()
	if why != "" {
		return skip(why)
	}
	if len(m.Files) > 0 {
		im.Note(NoteFiles, len(m.Files))
	}
	if p := m.UserProfile; p != nil {
		names.Add(p.RealName, p.DisplayName, p.Name, p.FirstName)
	}
	im.MarkSeen(id)
	return event.Event{
		Schema:     event.SchemaVersion,
		EventID:    id,
		OccurredAt: at,
		Channel:    event.ChannelChat,
		Sender:     sender.id,
		Recipients: recips,
		ThreadID:   im.ThreadID(conv.ID, root),
		Consent:    true,
		Text:       im.Text(names.Redact(PlainText(m.Text)), false),
	}, true
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
