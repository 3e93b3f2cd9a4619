package graph

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/valyala/fastjson"

	"commpulse/pipeline/importer"
)

// user is what the importer knows of an Azure AD user id from the users
// file (GET /users) and the members files (conversationMember). Names are
// kept only to redact them from texts.
type user struct {
	addr  string // normalised address ("" when unknown)
	guest bool   // userType Guest, a #EXT# principal name, or a member with the guest role
}

// People maps Azure AD user ids to addresses, and conversations to their
// members, from the optional users and members files.
type People struct {
	users   map[string]*user    // by lower-cased AAD id
	members map[string][]string // conversation key -> member ids, in file order
	names   importer.Names
	idents  map[string]ident // userIdentityType and tenantId the messages give an id
}

type ident struct{ typ, tenant string }

// learnIdent keeps the identity type and tenant of a user identity object
// (from.user, mentioned.user); the first non-empty one wins.
func (pp *People) learnIdent(u *fastjson.Value) {
	if u == nil || u.Type() != fastjson.TypeObject {
		return
	}
	id := strings.ToLower(str(u, "id"))
	if id == "" {
		return
	}
	old := pp.idents[id]
	if old.typ == "" {
		old.typ = str(u, "userIdentityType")
	}
	if old.tenant == "" {
		old.tenant = str(u, "tenantId")
	}
	pp.idents[id] = old
}

func newPeople() *People {
	return &People{users: map[string]*user{}, members: map[string][]string{}, names: importer.NewNames(), idents: map[string]ident{}}
}

// LoadUsers reads a users file (or a directory of them): Graph list pages
// of user resources (GET /users?$select=id,mail,userPrincipalName,userType,
// displayName,givenName,surname), or JSON Lines of user objects. An entry
// without an id is an error. The address of a user is mail, else a
// userPrincipalName that is an address (guests' #EXT# names are not).
func (pp *People) LoadUsers(paths ...string) error {
	return eachMetaItem(paths, "users", func(path string, d Doc, i int, v *fastjson.Value) error {
		id := strings.ToLower(str(v, "id"))
		if id == "" {
			return fmt.Errorf("users %s %s item %d: no id", path, d.where(), i+1)
		}
		upn := str(v, "userPrincipalName")
		addr := importer.NormalizeAddress(str(v, "mail"))
		if addr == "" && !strings.Contains(strings.ToUpper(upn), "#EXT#") {
			addr = importer.NormalizeAddress(upn)
		}
		u := &user{addr: addr, guest: strings.EqualFold(str(v, "userType"), "guest") || strings.Contains(strings.ToUpper(upn), "#EXT#")}
		pp.users[id] = u
		pp.names.Add(str(v, "displayName"), str(v, "givenName"), str(v, "surname"))
		return nil
	})
}

var (
	chatCtx    = regexp.MustCompile(`#chats\('([^']+)'\)/(members|messages)`)
	channelCtx = regexp.MustCompile(`#teams\('([^']+)'\)/channels\('([^']+)'\)/(members|messages)`)
)

// contextConv is the conversation a page's @odata.context names
// (chats('id')/..., teams('t')/channels('c')/...), "" when none.
func contextConv(ctx string) string {
	if m := channelCtx.FindStringSubmatch(ctx); m != nil {
		return channelKey(unescape(m[1]), unescape(m[2]))
	}
	if m := chatCtx.FindStringSubmatch(ctx); m != nil {
		return chatKey(unescape(m[1]))
	}
	return ""
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

func chatKey(id string) string          { return "chat:" + id }
func channelKey(team, ch string) string { return "channel:" + strings.ToLower(team) + "/" + ch }

// LoadMembers reads members files (or directories of them): pages of chats
// with their members expanded (GET /users/{id}/chats?$expand=members), or
// pages of conversationMember (GET /chats/{id}/members,
// /teams/{id}/channels/{id}/members), whose @odata.context names the chat
// or channel. A member's userId is mapped to their email (unless the users
// file knows it); the guest role makes a member external.
func (pp *People) LoadMembers(paths ...string) error {
	return eachMetaItem(paths, "members", func(path string, d Doc, i int, v *fastjson.Value) error {
		if ms := v.Get("members"); ms != nil {
			id := str(v, "id")
			if id == "" {
				return fmt.Errorf("members %s %s item %d: a chat without id", path, d.where(), i+1)
			}
			for _, m := range array(v, "members") {
				pp.addMember(chatKey(id), m)
			}
			return nil
		}
		conv := contextConv(d.Context)
		if conv == "" {
			return fmt.Errorf("members %s %s: neither a chat with expanded members nor a members page whose @odata.context names its chat or channel", path, d.where())
		}
		pp.addMember(conv, v)
		return nil
	})
}

func (pp *People) addMember(conv string, m *fastjson.Value) {
	id := strings.ToLower(str(m, "userId"))
	if id == "" {
		return // not a user (a bot, a tag)
	}
	pp.members[conv] = append(pp.members[conv], id)
	pp.names.Add(str(m, "displayName"))
	guest := false
	for _, r := range array(m, "roles") {
		if s, _ := r.StringBytes(); strings.EqualFold(string(s), "guest") {
			guest = true
		}
	}
	u := pp.users[id]
	if u == nil {
		u = &user{}
		pp.users[id] = u
	}
	if u.addr == "" {
		u.addr = importer.NormalizeAddress(str(m, "email"))
	}
	u.guest = u.guest || guest
}

// eachMetaItem reads every item of every page of the users or members
// files.
func eachMetaItem(paths []string, what string, fn func(path string, d Doc, i int, v *fastjson.Value) error) error {
	inputs, _, err := Inputs(paths)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for _, in := range inputs {
		f, err := os.Open(in.Path)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		err = ReadDocs(f, 0, func(d Doc) error {
			for i, v := range d.Items {
				if v.Type() != fastjson.TypeObject {
					return fmt.Errorf("%s %s %s item %d: not an object", what, in.Path, d.where(), i+1)
				}
				if err := fn(in.Path, d, i, v); err != nil {
					return err
				}
			}
			return nil
		})
		f.Close()
		if err != nil {
			if strings.HasPrefix(err.Error(), what+" ") {
				return err
			}
			return fmt.Errorf("%s %s: %w", what, in.Path, err)
		}
	}
	return nil
}
