package graph

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"commpulse/pipeline/event"
	"commpulse/pipeline/importer"
	"commpulse/pipeline/importer/mail"
)

// Reasons of the Graph importer (the keys of importer.Stats' maps; the
// shared ones are in package importer, mail's in package mail).
const (
	SkipUnknownResource = "unknown_resource"  // an item that is neither a mail nor a chat message
	SkipMalformed       = "malformed_message" // a message without id, or with a field of the wrong type
	SkipNoConversation  = "no_conversation"   // a chat message naming no chat or channel
	SkipBadDate         = "bad_date"          // createdDateTime missing, unparsable, before 2000 or in the future
	SkipNoSender        = "no_sender"
	ExcludeDraft        = "draft"
	ExcludeDeleted      = "deleted"
	ExcludeBot          = "bot"    // from.application: a bot, a connector, a workflow
	ExcludeSystem       = "system" // messageType other than "message": systemEventMessage, chatEvent, typing, ...
	NoteBroadcast       = "broadcast_no_recipients"
	NoteAttachments     = "attachments_not_read"
	NoteInvalidUTF8     = "invalid_utf8_replaced" // per document
	NoteNoAddress       = "sender_without_address"
	NoteThreadReply     = "thread_replies"
	NoteFocusedOther    = "inference_other" // mail Outlook sorted into "Other" (imported)
	NoteMembersUnknown  = "members_from_posts"
)

// DefaultBroadcastMax is the Slack importer's: a recipient set larger than
// this is no recipient set.
const DefaultBroadcastMax = importer.DefaultBroadcastMax

// Config of an Importer.
type Config struct {
	importer.Config
	BroadcastMax int   // 1..1000 (0: DefaultBroadcastMax)
	MaxDocBytes  int64 // 0: DefaultMaxDocBytes
	MaxReceived  int   // mail: more Received headers is a loop (0: mail.DefaultMaxReceived)
}

// Importer converts Graph pages to event records. Use: New, then
// optionally People().LoadUsers and LoadMembers, then Check every input,
// then Import every input. Not safe for concurrent use (except Read).
type Importer struct {
	*importer.Base
	mail         *mail.Importer
	people       *People
	broadcastMax int
	maxDoc       int64

	// From Check: the participants of chats (in order of their first
	// message) and of channel threads.
	chatPosters map[string][]string
	firstPost   map[string]map[string]post
	threads     map[string][]post
	// From Check: the thread root of each mail conversation.
	mailConvs map[string]*convRoot
	// List pages and items (messages and other resources) read by Check.
	Pages, Items int
}

type post struct {
	at   int64 // unix nanoseconds
	id   string
	user string
}

func (a post) less(b post) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.id < b.id
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
	if cfg.MaxDocBytes <= 0 {
		cfg.MaxDocBytes = DefaultMaxDocBytes
	}
	return &Importer{Base: b, mail: mail.NewWithBase(b, cfg.MaxReceived), people: newPeople(),
		broadcastMax: cfg.BroadcastMax, maxDoc: cfg.MaxDocBytes,
		chatPosters: map[string][]string{}, mailConvs: map[string]*convRoot{}, firstPost: map[string]map[string]post{}, threads: map[string][]post{}}, nil
}

// People is where the users and members files are loaded.
func (im *Importer) People() *People { return im.people }

// Kind of a resource.
type Kind int

const (
	KindUnknown Kind = iota
	KindMail         // message (and its eventMessage kinds)
	KindChat         // chatMessage
)

// pageKind is the kind a page's @odata.context implies.
func pageKind(ctx string) Kind {
	_, frag, _ := strings.Cut(ctx, "#")
	switch {
	case frag == "":
		return KindUnknown
	case strings.Contains(frag, "chatMessage") || chatCtx.MatchString(ctx) || channelCtx.MatchString(ctx) || strings.Contains(frag, "/replies"):
		return KindChat
	case strings.Contains(frag, "/messages") || strings.Contains(frag, "Collection(microsoft.graph.message)") ||
		strings.Contains(frag, "Collection(message)"):
		return KindMail
	}
	return KindUnknown
}

// KindOf classifies one item: by its @odata.type, else by fields only one
// of the two resources has, else by the page's context.
func KindOf(v *fastjson.Value, pk Kind) Kind {
	if v.Type() != fastjson.TypeObject {
		return KindUnknown
	}
	switch t := str(v, "@odata.type"); {
	case t == "#microsoft.graph.message" || strings.HasPrefix(t, "#microsoft.graph.eventMessage"):
		return KindMail
	case t == "#microsoft.graph.chatMessage":
		return KindChat
	case t != "":
		return KindUnknown
	}
	for _, k := range []string{"messageType", "chatId", "channelIdentity", "replyToId"} {
		if v.Get(k) != nil {
			return KindChat
		}
	}
	for _, k := range []string{"internetMessageId", "toRecipients", "sentDateTime", "receivedDateTime", "conversationId", "isDraft", "sender"} {
		if v.Get(k) != nil {
			return KindMail
		}
	}
	return pk
}

// Check reads one input whole before anything is imported: every
// document must be valid JSON and a Graph list page or resource object,
// and a page must hold messages (a page of users given as an input is an
// error). It also learns who posts in which chat and thread, for the
// recipients rule. Its error names the path and the line or byte, never
// content.
func (im *Importer) Check(in Input) error { return im.read(in, nil, im.checkDoc) }

func (im *Importer) checkDoc(d Doc) error {
	if d.Page {
		im.Pages++
	}
	pk := pageKind(d.Context)
	recognised := 0
	for _, v := range d.Items {
		im.Items++
		switch KindOf(v, pk) {
		case KindMail:
			recognised++
			im.learnMail(v)
		case KindChat:
			recognised++
			im.learn(v, d.Context)
			for _, r := range array(v, "replies") { // $expand=replies
				im.Items++
				im.learn(r, d.Context)
			}
		}
	}
	if d.Page && len(d.Items) > 0 && recognised == 0 {
		return fmt.Errorf("%w: %s: a list of %d items none of which is a mail or chat message (a users or members file goes to --users or --members)", ErrNotGraph, d.where(), len(d.Items))
	}
	if !d.Page && recognised == 0 {
		return fmt.Errorf("%w: %s: neither a Graph list page nor a mail or chat message", ErrNotGraph, d.where())
	}
	return nil
}

func (im *Importer) read(in Input, wrap func(io.Reader) io.Reader, fn func(Doc) error) error {
	f, err := os.Open(in.Path)
	if err != nil {
		return fmt.Errorf("open %s: %w", in.Path, err)
	}
	defer f.Close()
	var r io.Reader = f
	if wrap != nil {
		r = wrap(r)
	}
	if err := ReadDocs(r, im.maxDoc, fn); err != nil {
		return fmt.Errorf("%s: %w", in.Path, err)
	}
	return nil
}

// learn records a person's chat message for the recipients rule: the
// chat's posters, and the thread's posts of a channel message.
func (im *Importer) learn(v *fastjson.Value, ctx string) {
	// Every name any message shows is redacted from every chat text.
	im.people.names.Add(str(v, "from", "user", "displayName"))
	im.people.learnIdent(v.Get("from", "user"))
	for _, m := range array(v, "mentions") {
		im.people.names.Add(str(m, "mentionText"), str(m, "mentioned", "user", "displayName"))
		im.people.learnIdent(m.Get("mentioned", "user"))
	}
	if t := str(v, "messageType"); t != "" && t != "message" || present(v, "deletedDateTime") || present(v, "from", "application") {
		return
	}
	uid := strings.ToLower(str(v, "from", "user", "id"))
	id := str(v, "id")
	conv, channel := convOf(v, ctx)
	at, ok := parseTime(str(v, "createdDateTime"))
	if uid == "" || id == "" || conv == "" || !ok {
		return
	}
	p := post{at: at.UnixNano(), id: id, user: uid}
	if channel {
		root := id
		if r := str(v, "replyToId"); r != "" {
			root = r
		}
		im.threads[conv+"\x00"+root] = append(im.threads[conv+"\x00"+root], p)
		return
	}
	if im.firstPost == nil { // Check after Import: keep what is learnt for the next Import
		im.firstPost = map[string]map[string]post{}
	}
	fp := im.firstPost[conv]
	if fp == nil {
		fp = map[string]post{}
		im.firstPost[conv] = fp
	}
	if old, ok := fp[uid]; !ok || p.less(old) {
		fp[uid] = p
	}
}

// convRoot is what Check learns of a mail conversation: the root its
// messages' References (else In-Reply-To) name, from the earliest of them,
// and its earliest message.
type convRoot struct {
	ref, first     string
	refAt, firstAt int64
}

func (c *convRoot) root() string {
	if c.ref != "" {
		return c.ref
	}
	return c.first
}

// learnMail records a mail's conversation root. A mailbox's copy of a
// thread has the root's Message-ID in every reply's References; Graph
// shows internetMessageHeaders only for received mail, so the root is
// learnt from the conversation's other messages (or is its earliest one)
// and the thread id agrees with import mail's.
func (im *Importer) learnMail(v *fastjson.Value) {
	conv := str(v, "conversationId")
	if x := v.Get("isDraft"); conv == "" || x != nil && x.Type() == fastjson.TypeTrue {
		return
	}
	m := mailHeader(v)
	at := int64(1<<63 - 1)
	if m.DateErr == nil {
		at = m.Date.UnixNano()
	}
	c := im.mailConvs[conv]
	if c == nil {
		c = &convRoot{}
		im.mailConvs[conv] = c
	}
	ref := ""
	if len(m.References) > 0 {
		ref = m.References[0]
	} else if len(m.InReplyTo) > 0 {
		ref = m.InReplyTo[0]
	}
	if ref != "" && (c.ref == "" || at < c.refAt || at == c.refAt && ref < c.ref) {
		c.ref, c.refAt = ref, at
	}
	if id := m.MessageID; id != "" && (c.first == "" || at < c.firstAt || at == c.firstAt && id < c.first) {
		c.first, c.firstAt = id, at
	}
}

// finishCheck orders what Check learnt; Import calls it once.
func (im *Importer) finishCheck() {
	if im.firstPost == nil {
		return
	}
	for conv, fp := range im.firstPost {
		for _, u := range im.chatPosters[conv] {
			if _, ok := fp[u]; !ok {
				fp[u] = post{at: 1<<63 - 1, user: u}
			}
		}
		ps := make([]post, 0, len(fp))
		for _, p := range fp {
			ps = append(ps, p)
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i].less(ps[j]) })
		users := make([]string, len(ps))
		for i, p := range ps {
			users[i] = p.user
		}
		im.chatPosters[conv] = users
	}
	im.firstPost = nil
	for k, ps := range im.threads {
		sort.Slice(ps, func(i, j int) bool { return ps[i].less(ps[j]) })
		im.threads[k] = ps
	}
}

// convOf is a chat message's conversation key, and whether it is a
// channel's: chatId, channelIdentity, else the page's context.
func convOf(v *fastjson.Value, ctx string) (string, bool) {
	if c := str(v, "chatId"); c != "" {
		return chatKey(c), false
	}
	if t, c := str(v, "channelIdentity", "teamId"), str(v, "channelIdentity", "channelId"); t != "" && c != "" {
		return channelKey(t, c), true
	}
	k := contextConv(ctx)
	return k, strings.HasPrefix(k, "channel:")
}

func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// Import imports every message of one input (Check it first), handing
// each record to emit. wrap, if set, wraps the file's reader (progress).
// A message that cannot be imported is counted; only a read error, an
// input that changed since Check, or an error of emit stops it.
func (im *Importer) Import(in Input, wrap func(io.Reader) io.Reader, emit func(importer.Record) error) error {
	return im.read(in, wrap, im.importDoc(emit))
}

// CheckReader and ImportReader are Check and Import of an input held in a
// reader (tests, fuzzing).
func (im *Importer) CheckReader(r io.Reader) error { return ReadDocs(r, im.maxDoc, im.checkDoc) }
func (im *Importer) ImportReader(r io.Reader, emit func(importer.Record) error) error {
	return ReadDocs(r, im.maxDoc, im.importDoc(emit))
}

func (im *Importer) importDoc(emit func(importer.Record) error) func(Doc) error {
	im.finishCheck()
	return func(d Doc) error {
		if d.InvalidUTF8 {
			im.Note(NoteInvalidUTF8, 1)
		}
		pk := pageKind(d.Context)
		for _, v := range d.Items {
			switch KindOf(v, pk) {
			case KindMail:
				if ev, ok := im.convertMail(v); ok {
					if err := emit(im.EventRecord(ev)); err != nil {
						return err
					}
				}
			case KindChat:
				// A channel message with $expand=replies holds its replies.
				for _, m := range append([]*fastjson.Value{v}, array(v, "replies")...) {
					if ev, ok := im.convertChat(m, d.Context); ok {
						if err := emit(im.EventRecord(ev)); err != nil {
							return err
						}
					}
				}
			default:
				im.CountRead()
				im.Skip(SkipUnknownResource)
			}
		}
		return nil
	}
}

var msgIDToken = regexp.MustCompile(`<[^<>\s]+>`)

// MailMessage maps a Graph message to the mail importer's Message: the
// same fields a mailbox gives, so mail's rules apply unchanged. The
// subject is not read.
func MailMessage(v *fastjson.Value) *mail.Message {
	m := mailHeader(v)
	body := "body"
	if strings.TrimSpace(str(v, "uniqueBody", "content")) != "" {
		body = "uniqueBody" // the part of the body new in this message
	}
	text, truncated := cut(str(v, body, "content"), mail.MaxPartBytes)
	m.Truncated = truncated
	if strings.EqualFold(str(v, body, "contentType"), "html") {
		m.Text, m.FromHTML = mail.HTMLToText(text), true
	} else {
		m.Text = strings.ReplaceAll(text, "\r\n", "\n")
	}
	return m
}

// mailHeader is MailMessage without the body.
func mailHeader(v *fastjson.Value) *mail.Message {
	m := &mail.Message{MessageID: mail.NormalizeMessageID(str(v, "internetMessageId"))}
	if id := str(v, "id"); id != "" {
		m.SourceID = "graph:" + id
	}
	if c := str(v, "conversationId"); c != "" {
		m.ThreadKey = "graph-conversation:" + c
	}
	m.DateRaw = str(v, "sentDateTime")
	if m.DateRaw == "" {
		m.DateRaw = str(v, "receivedDateTime")
	}
	if m.DateRaw == "" {
		m.DateErr = fmt.Errorf("no date")
	} else if t, ok := parseTime(m.DateRaw); ok {
		m.Date = t
	} else {
		m.DateErr = fmt.Errorf("unparsable date")
	}
	addr := func(r *fastjson.Value) string {
		if n := str(r, "emailAddress", "name"); n != "" {
			m.Names = append(m.Names, n)
		}
		return importer.NormalizeAddress(str(r, "emailAddress", "address"))
	}
	for _, k := range []string{"from", "sender"} {
		if r := v.Get(k); r != nil && r.Type() == fastjson.TypeObject {
			if a := addr(r); a != "" && m.From == "" {
				m.From = a
			}
		}
	}
	for _, k := range []string{"toRecipients", "ccRecipients", "bccRecipients"} {
		for _, r := range array(v, k) {
			if a := addr(r); a != "" {
				m.To = append(m.To, a)
			}
		}
	}
	for _, h := range array(v, "internetMessageHeaders") {
		name, val := str(h, "name"), str(h, "value")
		if name == "" {
			continue
		}
		m.AddHeader(name, val)
		switch strings.ToLower(name) {
		case "received":
			m.Received++
		case "references":
			for _, t := range msgIDToken.FindAllString(val, -1) {
				m.References = append(m.References, mail.NormalizeMessageID(t))
			}
		case "in-reply-to":
			for _, t := range msgIDToken.FindAllString(val, -1) {
				m.InReplyTo = append(m.InReplyTo, mail.NormalizeMessageID(t))
			}
		}
	}
	if mt := strings.ToLower(str(v, "meetingMessageType")); mt != "" && mt != "none" ||
		strings.HasPrefix(str(v, "@odata.type"), "#microsoft.graph.eventMessage") {
		m.HasCalendar = true
	}
	if x := v.Get("hasAttachments"); x != nil && x.Type() == fastjson.TypeTrue {
		m.Attachments = 1
	}
	return m
}

// cut cuts s to at most n bytes at a rune boundary.
func cut(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

// convertMail applies mail's rules to a Graph message; drafts are
// excluded first.
func (im *Importer) convertMail(v *fastjson.Value) (event.Event, bool) {
	im.CountRead()
	if x := v.Get("isDraft"); x != nil && x.Type() == fastjson.TypeTrue {
		im.Exclude(ExcludeDraft)
		return event.Event{}, false
	}
	m := MailMessage(v)
	if c := im.mailConvs[str(v, "conversationId")]; c != nil && len(m.References) == 0 && len(m.InReplyTo) == 0 {
		m.ThreadRoot = c.root()
	}
	if m.MessageID == "" && m.SourceID == "" {
		im.Skip(SkipMalformed)
		return event.Event{}, false
	}
	if strings.EqualFold(str(v, "inferenceClassification"), "other") {
		im.Note(NoteFocusedOther, 1)
	}
	ev, reason := im.mail.Convert(m)
	return ev, reason == ""
}
