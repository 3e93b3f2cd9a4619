package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"commpulse/pipeline/importer"
	"commpulse/pipeline/importer/graph"
)

// pathList is a repeatable flag of paths.
type pathList []string

func (p *pathList) String() string { return fmt.Sprint(*p) }
func (p *pathList) Set(v string) error {
	if v == "" {
		return errors.New("empty path")
	}
	*p = append(*p, v)
	return nil
}

// importGraphFlags are the flags of `commpulse import graph`.
type importGraphFlags struct {
	importFlags
	users, members pathList
	cfg            graph.Config
}

func (f *importGraphFlags) bind(fs *flag.FlagSet) {
	f.importFlags.bind(fs, "domain", "REQUIRED: company mail domain (repeatable or comma-separated); other domains become one external participant each, as in import mail")
	fs.Var(&f.users, "users", "users file or directory (GET /users pages: id, mail, userPrincipalName, userType): maps Teams' Azure AD ids to addresses, so a person gets the id import mail and import slack give (repeatable)")
	fs.Var(&f.members, "members", "members file or directory (GET /users/{id}/chats?$expand=members, or /chats/{id}/members and /teams/{id}/channels/{id}/members pages): a chat's or channel's recipients (repeatable)")
	f.cfg = graph.Defaults()
	f.cfg.RegisterFlags(fs)
}

const importGraphUsage = `usage: commpulse import graph --pseudonym-key-file K --domain D [--users F] [--members F] [flags] PATH...

Reads Microsoft Graph JSON SAVED TO FILES; it never calls Graph (no live
fetch: save the pages first, see docs/importers.md for the calls and their
$select lists). A PATH is a file or a directory (its *.json, *.jsonl and
*.ndjson files, in lexical order); a file is a list page as Graph returns it
({"@odata.context", "value": [...], "@odata.nextLink"}), several pages one
per line, or JSON Lines of message objects. Two resources are read:
  mail     GET /users/{id}/messages (message): import mail's rules, and the
           same event id for the same internetMessageId as import mail;
           drafts, auto-replies, list mail and calendar items excluded;
  Teams    GET /chats/{id}/messages, /teams/{id}/channels/{id}/messages
           (chatMessage): bots, system and deleted messages excluded.
Every input is checked whole (valid JSON, Graph list pages of messages)
before anything is sent. A Teams user is HMAC-SHA256 under the key of their
address when --users (or --members) maps their Azure AD id to one, else of
"aad-user:" + the id. Recipients of a Teams message: a chat's members
(--members), else everyone who posts in the chat; a channel reply's thread so
far; a channel post's members (--members), else its mentions; plus who it
mentions; none above --broadcast-max. Names, addresses and subjects never
leave the importer. Rules: docs/importers.md.

flags:
`

func runImportGraph(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	fs := newFlagSet("import graph", stderr)
	var f importGraphFlags
	f.bind(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, importGraphUsage)
		fs.PrintDefaults()
	}
	paths, err := parseInterleaved(fs, args, lookup)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageError{errors.New("give at least one file or directory of saved Graph pages")}
	}
	s, err := f.setup("domain")
	if err != nil {
		return err
	}
	f.cfg.Config = s.cfg
	im, err := graph.New(f.cfg)
	if err != nil {
		return usageError{err}
	}
	if len(f.users) > 0 {
		if err := im.People().LoadUsers(f.users...); err != nil {
			return err
		}
	}
	if len(f.members) > 0 {
		if err := im.People().LoadMembers(f.members...); err != nil {
			return err
		}
	}
	inputs, ignored, err := graph.Inputs(paths)
	if err != nil {
		return usageError{err}
	}
	// Every input is checked before anything is sent: a broken page fails
	// the import here, with nothing written to Kafka or --out.
	var total int64
	start := time.Now()
	for _, in := range inputs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := im.Check(in); err != nil {
			return err
		}
		total += in.Size
	}
	if f.progress > 0 {
		fmt.Fprintf(stderr, "import graph: checked %d files, %d pages, %d items, %.1f MB in %s\n",
			len(inputs), im.Pages, im.Items, float64(total)/1e6, time.Since(start).Round(time.Millisecond))
	}
	var done atomic.Int64
	wrap := func(r io.Reader) io.Reader { return &countingReader{r: r, n: &done} }
	sent, err := f.run(ctx, s, importRun{name: "graph", base: im.Base, total: total, counted: &done,
		each: func(ctx context.Context, emit func(importer.Record) error) error {
			for _, in := range inputs {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := im.Import(in, wrap, emit); err != nil {
					return err
				}
			}
			return nil
		}}, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "import graph: %d files, %d pages (%d other files ignored), %d records to %s; %s\n",
		len(inputs), im.Pages, ignored, sent, f.where(), im.Stats())
	return nil
}
