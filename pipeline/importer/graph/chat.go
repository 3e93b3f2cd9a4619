package graph

import (
	"regexp"
	"strings"

	"github.com/valyala/fastjson"

	"commpulse/pipeline/event"
	"commpulse/pipeline/importer"
	"commpulse/pipeline/importer/mail"
)

// person is a Teams user as the importer sees them.
type person struct {
	id       string
	addr     string // normalised company address ("" for external people and ids without address)
	internal bool
}

// Person maps an Azure AD user (id, userIdentityType, tenantId) to its
// participant:
//   - an id the users or members files map to an address: a guest is the
//     external participant of the address's domain; else
//     Participant(address), the person id import mail and import slack give
//     (or the external participant of the domain);
//   - an id without address: aadUser and onPremiseAadUser (and no type)
//     are a company person, the keyed hash of "aad-user:" + the id;
//     federatedUser (another organisation's tenant) the external participant
//     "aad-tenant:" + tenantId; anonymous guests, personal Microsoft
//     accounts, Skype, phone and e-mail users the external participant
//     "teams-" + their type.
func (im *Importer) Person(id, identityType, tenant string) person {
	id = strings.ToLower(id)
	if u := im.people.users[id]; u != nil && u.addr != "" {
		if u.guest {
			return person{id: im.ExternalID(u.addr[strings.LastIndexByte(u.addr, '@')+1:])}
		}
		pid, internal := im.Participant(u.addr)
		p := person{id: pid, internal: internal}
		if internal {
			p.addr = u.addr
		}
		return p
	}
	if u := im.people.users[id]; u != nil && u.guest {
		return person{id: im.ExternalID("teams-guest")}
	}
	switch t := strings.ToLower(identityType); t {
	case "", "aaduser", "onpremiseaaduser":
		return person{id: im.Config().Pseudonymizer.ID("aad-user:" + id), internal: true}
	case "federateduser":
		if tenant != "" {
			return person{id: im.ExternalID("aad-tenant:" + strings.ToLower(tenant))}
		}
		return person{id: im.ExternalID("teams-federateduser")}
	default:
		return person{id: im.ExternalID("teams-" + t)}
	}
}

// personOf is Person of a user id with the identity type and tenant the
// messages gave it (Check learns them from senders and mentions).
func (im *Importer) personOf(uid string) person {
	idn := im.people.idents[uid]
	return im.Person(uid, idn.typ, idn.tenant)
}

// EventID is the keyed hash of a Teams message's conversation and id
// (Graph's message ids are unique within a chat or channel); ThreadID of
// the conversation and the thread's root (replyToId, or the message).
func (im *Importer) EventID(conv, id string) string { return im.Keyed("m_", "teams:"+conv+":"+id) }
func (im *Importer) ThreadID(conv, root string) string {
	return im.Keyed("t_", "teams:"+conv+":"+root)
}

// optedIn: a company person may be imported (one without address cannot
// be on a consent list).
func (im *Importer) optedIn(p person) bool {
	if !p.internal {
		return true
	}
	if p.addr == "" {
		return !im.HasConsentList()
	}
	return im.OptedIn(p.addr)
}

// convertChat applies the rules to one chatMessage; ok false means it was
// counted and produces nothing.
func (im *Importer) convertChat(v *fastjson.Value, ctx string) (event.Event, bool) {
	im.CountRead()
	skip := func(r string) (event.Event, bool) { im.Skip(r); return event.Event{}, false }
	exclude := func(r string) (event.Event, bool) { im.Exclude(r); return event.Event{}, false }
	if t := str(v, "messageType"); t != "" && t != "message" {
		return exclude(ExcludeSystem)
	}
	msgID := str(v, "id")
	if msgID == "" {
		return skip(SkipMalformed)
	}
	conv, channel := convOf(v, ctx)
	if conv == "" {
		return skip(SkipNoConversation)
	}
	at, ok := parseTime(str(v, "createdDateTime"))
	if !ok {
		return skip(SkipBadDate)
	}
	id := im.EventID(conv, msgID)
	if im.Seen(id) {
		return exclude(importer.ExcludeDuplicate)
	}
	if present(v, "deletedDateTime") {
		im.MarkSeen(id)
		return exclude(ExcludeDeleted)
	}
	if present(v, "from", "application") && !present(v, "from", "user") {
		im.MarkSeen(id)
		return exclude(ExcludeBot)
	}
	if !im.CheckTime(at) {
		return skip(SkipBadDate)
	}
	uid := strings.ToLower(str(v, "from", "user", "id"))
	if uid == "" {
		return skip(SkipNoSender)
	}
	sender := im.personOf(uid)
	if !im.optedIn(sender) {
		im.Drop(importer.DropSenderNotOptIn)
		return event.Event{}, false
	}
	if sender.internal && sender.addr == "" {
		im.Note(NoteNoAddress, 1)
	}

	// The recipients rule (docs/importers.md): candidates are user ids.
	root := msgID
	reply := channel && str(v, "replyToId") != "" && str(v, "replyToId") != msgID
	var candidates []string
	switch members, known := im.people.members[conv]; {
	case reply:
		root = str(v, "replyToId")
		im.Note(NoteThreadReply, 1)
		me := post{at: at.UnixNano(), id: msgID}
		for _, p := range im.threads[conv+"\x00"+root] {
			if !p.less(me) {
				break
			}
			candidates = append(candidates, p.user)
		}
	case known:
		candidates = append(candidates, members...)
	case !channel:
		candidates = append(candidates, im.chatPosters[conv]...)
		im.Note(NoteMembersUnknown, 1)
	}
	for _, m := range array(v, "mentions") {
		if u := strings.ToLower(str(m, "mentioned", "user", "id")); u != "" {
			candidates = append(candidates, u)
		}
	}
	others := map[string]bool{}
	for _, u := range candidates {
		if u != uid {
			others[u] = true
		}
	}
	rs := im.NewRecipients(sender.id, sender.internal)
	if len(others) > im.broadcastMax {
		im.Note(NoteBroadcast, 1)
	} else {
		done := map[string]bool{uid: true}
		for _, u := range candidates {
			if done[u] {
				continue
			}
			done[u] = true
			p := im.personOf(u)
			rs.Add(p.id, p.internal, im.optedIn(p))
		}
	}
	recips, why := rs.Done()
	if why != "" {
		return skip(why)
	}
	if n := len(array(v, "attachments")); n > 0 {
		im.Note(NoteAttachments, n)
	}
	im.MarkSeen(id)
	return event.Event{
		Schema:     event.SchemaVersion,
		EventID:    id,
		OccurredAt: at,
		Channel:    event.ChannelChat,
		Sender:     sender.id,
		Recipients: recips,
		ThreadID:   im.ThreadID(conv, root),
		Consent:    true,
		Text:       im.chatText(v),
	}, true
}

var (
	atTag    = regexp.MustCompile(`(?is)<at\b[^>]*>.*?</at\s*>`)
	emojiAlt = regexp.MustCompile(`(?i)<emoji\b[^>]*\balt="([^"]*)"[^>]*>`)
)

// chatText is a chat message's text: HTML bodies (Teams' usual) become
// text with mail's HTMLToText after every <at> mention became "[name]"
// and every emoji its alt text; then addresses and every name in the
// users and members files and the messages are redacted, and the text
// finished by importer.Base.Text. Attachments (files, cards, the quoted
// message of a reply) are never read.
func (im *Importer) chatText(v *fastjson.Value) string {
	text, truncated := cut(str(v, "body", "content"), mail.MaxPartBytes)
	if strings.EqualFold(str(v, "body", "contentType"), "html") {
		if strings.Contains(text, "<at") || strings.Contains(text, "<AT") {
			text = atTag.ReplaceAllString(text, "[name]")
		}
		if strings.Contains(text, "<emoji") {
			text = emojiAlt.ReplaceAllString(text, "$1")
		}
		text = mail.HTMLToText(text)
	}
	return im.Text(im.people.names.Redact(text), truncated)
}
