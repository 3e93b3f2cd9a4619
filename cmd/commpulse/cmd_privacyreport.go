package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"commpulse/pipeline/analyze"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

func init() {
	register(command{name: "privacy-report", summary: "what is stored where, for how long, who reads it, and the k/noise settings, from the migrations and config", run: runPrivacyReport})
}

// The privacy report is generated, never hand-written: the tables, columns
// and TTLs come from the embedded migrations rendered with the config
// (--ch-database, --retention-days), the person columns from
// store.PersonTables, and the privacy settings from the analyze config the
// same flags and COMMPULSE_* variables would give `commpulse analyze`. It
// therefore works offline; --live additionally compares it with a server's
// system.tables and fails on any difference (a table the migrations do not
// create, a missing one, a TTL that differs).

// schemaObject is one table or view the migrations create.
type schemaObject struct {
	Name      string
	View      bool
	Engine    string
	TTL       string // rendered TTL expression; empty: none
	Columns   []schemaColumn
	Migration string // the migration that created it
}

type schemaColumn struct{ Name, Type string }

var (
	createTableRE    = regexp.MustCompile(`(?s)^CREATE TABLE (?:IF NOT EXISTS )?(\S+)\s*\((.*)\)\s*ENGINE\s*=\s*(.*)$`)
	createViewRE     = regexp.MustCompile(`(?s)^CREATE (?:OR REPLACE )?VIEW (?:IF NOT EXISTS )?(\S+)\s+(?:DEFINER = \S+ SQL SECURITY DEFINER\s+)?AS\s`)
	dropRE           = regexp.MustCompile(`(?i)^DROP (?:TABLE|VIEW) IF EXISTS (\S+)$`)
	modifySecurityRE = regexp.MustCompile(`(?i)^ALTER TABLE \S+ MODIFY SQL SECURITY DEFINER DEFINER = \S+$`)
	addColumnRE      = regexp.MustCompile(`(?s)^ALTER TABLE (\S+) ADD COLUMN (?:IF NOT EXISTS )?(\S+)\s+(.*)$`)
	modifyTTLRE      = regexp.MustCompile(`(?s)^ALTER TABLE (\S+) MODIFY TTL\s+(.*)$`)
	ttlRE            = regexp.MustCompile(`(?s)\bTTL\s+(.*?)(?:\s+SETTINGS\s.*)?$`)
	spaceRE          = regexp.MustCompile(`\s+`)
)

// schemaFromMigrations replays the embedded migrations as text into the
// tables and views they leave behind. A statement it does not understand is
// an error, so that a new kind of migration cannot silently drop out of the
// report.
func schemaFromMigrations(database string, ttlDays int) ([]schemaObject, []store.Migration, error) {
	ms, err := store.Migrations()
	if err != nil {
		return nil, nil, err
	}
	var objs []schemaObject
	idx := map[string]int{}
	name := func(q string) string { return strings.TrimPrefix(q, database+".") }
	for _, m := range ms {
		for i, raw := range m.SQL {
			stmt := strings.TrimSpace(store.Render(raw, database, ttlDays))
			flat := spaceRE.ReplaceAllString(stmt, " ")
			switch {
			case createTableRE.MatchString(stmt):
				g := createTableRE.FindStringSubmatch(stmt)
				o := schemaObject{Name: name(g[1]), Migration: m.Name}
				for _, def := range splitTopLevel(g[2]) {
					f := strings.Fields(def)
					if len(f) > 0 && (f[0] == "CONSTRAINT" || f[0] == "INDEX" || f[0] == "PROJECTION") {
						continue // not a column
					}
					if len(f) < 2 {
						return nil, nil, fmt.Errorf("migration %s statement %d: column %q", m.Name, i+1, def)
					}
					o.Columns = append(o.Columns, schemaColumn{Name: f[0], Type: strings.Join(f[1:], " ")})
				}
				engine := spaceRE.ReplaceAllString(g[3], " ")
				o.Engine = strings.Fields(engine)[0]
				if t := ttlRE.FindStringSubmatch(engine); t != nil {
					o.TTL = strings.TrimSpace(t[1])
				}
				idx[o.Name] = len(objs)
				objs = append(objs, o)
			case createViewRE.MatchString(flat):
				o := schemaObject{Name: name(createViewRE.FindStringSubmatch(flat)[1]), View: true, Engine: "View", Migration: m.Name}
				if j, ok := idx[o.Name]; ok { // CREATE OR REPLACE
					objs[j] = o
					continue
				}
				idx[o.Name] = len(objs)
				objs = append(objs, o)
			case addColumnRE.MatchString(flat):
				g := addColumnRE.FindStringSubmatch(flat)
				j, ok := idx[name(g[1])]
				if !ok {
					return nil, nil, fmt.Errorf("migration %s statement %d: ALTER of unknown table %s", m.Name, i+1, g[1])
				}
				objs[j].Columns = append(objs[j].Columns, schemaColumn{Name: g[2], Type: g[3]})
			case modifySecurityRE.MatchString(flat):
				// A view's definer security: what the view shows is unchanged.
			case dropRE.MatchString(flat):
				j, ok := idx[name(dropRE.FindStringSubmatch(flat)[1])]
				if !ok {
					continue // IF EXISTS of something never created
				}
				delete(idx, objs[j].Name)
				objs = append(objs[:j], objs[j+1:]...)
				for k, v := range idx {
					if v > j {
						idx[k] = v - 1
					}
				}
			case modifyTTLRE.MatchString(flat):
				g := modifyTTLRE.FindStringSubmatch(flat)
				j, ok := idx[name(g[1])]
				if !ok {
					return nil, nil, fmt.Errorf("migration %s statement %d: ALTER of unknown table %s", m.Name, i+1, g[1])
				}
				objs[j].TTL = g[2]
			default:
				return nil, nil, fmt.Errorf("migration %s statement %d: the privacy report does not understand %.60q; teach schemaFromMigrations", m.Name, i+1, flat)
			}
		}
	}
	return objs, ms, nil
}

// splitTopLevel splits a column list on the commas outside parentheses and
// quotes.
func splitTopLevel(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i, r := range s {
		switch {
		case r == '\'':
			quoted = !quoted
		case quoted:
		case r == '(':
			depth++
		case r == ')':
			depth--
		case r == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}

// accessGrant is one privilege of one role on one object.
type accessGrant struct{ Role, Privilege, Object string }

// accessGrants lists the access model of store.AccessModel.Grants (the one
// definition migrate --roles applies and the embedded users file is
// generated from), qualified for database db, on cluster c (the zero value
// is one server).
func accessGrants(db string, c store.Cluster) []accessGrant {
	m := store.AccessModel{Database: db, Cluster: c}
	var out []accessGrant
	for _, r := range m.Roles() {
		for _, g := range m.Grants(r) {
			obj := db + "." + g.On
			if strings.Contains(g.On, ".") {
				obj = g.On
			}
			if len(g.Privileges) == 1 && g.Privileges[0] == "TABLE ENGINE" {
				obj = "engine " + g.On
			}
			out = append(out, accessGrant{m.UserName(r), strings.Join(g.Privileges, ", "), obj})
		}
	}
	return out
}

// privacySetting is one analyze setting that bounds what the stored and
// published figures reveal about a person.
type privacySetting struct{ Name, Meaning, Value string }

// privacySettings lists the publication policy in force (package
// publish): k, the contribution bounds, and the ε of every released figure.
func privacySettings(cfg analyze.Config) []privacySetting {
	p := cfg.Privacy
	pub, err := publish.New(p)
	if err == nil {
		p = pub.Policy() // the budgets in force (EpsilonScale applied)
	}
	e := p.Epsilon
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	out := []privacySetting{
		{"k (--k)", "minimum distinct senders of a team in a window for any team-level figure (never below 5); the *_k views re-check it", strconv.Itoa(p.K)},
		{"cap volume (--privacy-cap-volume)", "one person's largest weight in a day's volume figures: the sensitivity of the volume noise", f(p.CapVolume)},
		{"cap sentiment (--privacy-cap-sentiment)", "one person's largest weight in a day's sentiment figures", f(p.CapSentiment)},
		{"cap themes (--privacy-cap-themes)", "one person's largest weight in each theme count of a day: the sensitivity of the theme noise", f(p.CapThemes)},
		{"min theme messages (--privacy-min-theme-messages)", "smallest published theme count of a team-day (noisy); below it no row", f(p.MinThemeMessages)},
		{"min people (--privacy-min-people)", "smallest published count of people (isolated members); below it NULL", strconv.Itoa(p.MinPeople)},
		{"noise", "discrete Laplace, exact integer sampler, keyed HMAC-SHA256 stream", map[bool]string{true: "key from --noise-key-file", false: "random key per process"}[p.Key != nil]},
		{"epsilon per person-day", "total privacy loss of one person's messages of one day over every published figure (basic composition)", f(p.PerPersonDay())},
	}
	for _, fig := range e.Figures() {
		out = append(out, privacySetting{"epsilon " + fig.Name + " (--privacy-epsilon)", "privacy loss of this figure per release", f(*fig.Epsilon)})
	}
	return out
}

// privacyReportFlags are analyze's flags (so the settings reported are the
// ones analyze would run with) plus the report's own.
type privacyReportFlags struct {
	analyze analyzeFlags
	keyFile string
	live    bool
}

func (f *privacyReportFlags) bind(fs *flag.FlagSet) {
	f.analyze.bind(fs)
	fs.StringVar(&f.keyFile, "pseudonym-key-file", "", "ingest's re-keying key file, if ingest uses one (reported, never printed)")
	fs.BoolVar(&f.live, "live", false, "also compare with the tables of the server at --ch-addr (fails on a difference)")
}

func runPrivacyReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("privacy-report", stderr)
	var f privacyReportFlags
	f.bind(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	chCfg, err := chConfig(&f.analyze.ch)
	if err != nil {
		return err
	}
	cfg, err := f.analyze.config()
	if err != nil {
		return err
	}
	ps, err := loadPseudonymizer(f.keyFile)
	if err != nil {
		return err
	}
	objs, ms, err := schemaFromMigrations(chCfg.Database, chCfg.TTLDays)
	if err != nil {
		return err
	}
	writePrivacyReport(stdout, objs, ms, chCfg, cfg, ps != nil)
	if !f.live {
		return nil
	}
	st, err := store.Open(chCfg)
	if err != nil {
		return err
	}
	defer st.Close()
	diffs, err := compareLive(ctx, st, objs)
	if err != nil {
		return err
	}
	if len(diffs) == 0 {
		fmt.Fprintf(stdout, "\nLive check: the tables and TTLs of %s on %v match this report.\n", chCfg.Database, chCfg.Addr)
		return nil
	}
	fmt.Fprintf(stdout, "\nLive check: %s on %v differs from this report:\n", chCfg.Database, chCfg.Addr)
	for _, d := range diffs {
		fmt.Fprintf(stdout, "- %s\n", d)
	}
	return fmt.Errorf("live schema differs from the migrations in %d places", len(diffs))
}

func writePrivacyReport(w io.Writer, objs []schemaObject, ms []store.Migration, ch store.Config, cfg analyze.Config, keyed bool) {
	person := map[string][]string{}
	erased, record := map[string]bool{}, map[string]bool{}
	for _, pc := range store.PersonTables {
		col := pc.Column
		if pc.Array {
			col += " (array)"
		}
		person[pc.Table] = append(person[pc.Table], col)
		if pc.Record {
			record[pc.Table] = true
		} else {
			erased[pc.Table] = true
		}
	}
	fmt.Fprintf(w, "# commpulse privacy report\n\nGenerated from the embedded migrations (%s to %s) and this configuration: database %s, retention %d days.\n",
		ms[0].Name, ms[len(ms)-1].Name, ch.Database, ch.TTLDays)
	fmt.Fprintf(w, "\n## What is stored, where, for how long\n\n")
	fmt.Fprintf(w, "| table | engine | person ids in | retention | on opt-out | columns |\n|---|---|---|---|---|---|\n")
	for _, o := range objs {
		ret := "no TTL: kept until deleted"
		if o.TTL != "" {
			ret = "TTL " + o.TTL
		}
		if o.View {
			ret = "view: stores nothing"
		}
		pids, opt := "none", "not person data"
		if p := person[o.Name]; len(p) > 0 {
			pids = strings.Join(p, ", ")
		}
		switch {
		case record[o.Name]:
			opt = "kept: the erasure record"
		case erased[o.Name]:
			opt = "erased (rows rewritten)"
		}
		var cols []string
		for _, c := range o.Columns {
			cols = append(cols, c.Name)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", o.Name, o.Engine, pids, ret, opt, strings.Join(cols, ", "))
	}
	fmt.Fprintf(w, "\nPerson ids are pseudonyms; re-keyed with HMAC-SHA256 before storage: %s.\n", yesNo(keyed))
	fmt.Fprintf(w, "\n## Who can read it\n\n")
	fmt.Fprintf(w, "The access model (`commpulse migrate --roles`; the embedded server's users file is generated from the same definition). Any other user with SELECT on %s reads every table above.\n\n", ch.Database)
	fmt.Fprintf(w, "| user | privilege | object |\n|---|---|---|\n")
	for _, g := range accessGrants(ch.Database, ch.Cluster) {
		fmt.Fprintf(w, "| %s | %s | %s |\n", g.Role, g.Privilege, g.Object)
	}
	fmt.Fprintf(w, "\n## Privacy settings in force (analyze)\n\n| setting | meaning | value |\n|---|---|---|\n")
	for _, s := range privacySettings(cfg) {
		fmt.Fprintf(w, "| %s | %s | %s |\n", s.Name, s.Meaning, s.Value)
	}
	fmt.Fprintf(w, "\n## Erasure\n\nOn opt-out the rows of the tables marked erased are rewritten by synchronous mutations (ALTER TABLE ... DELETE/UPDATE, mutations_sync = 2) that select the person through the erasures table, so no statement names them. They are gone from the active parts when the erasure returns; the superseded part files are removed by the server after old_parts_lifetime plus its cleanup period (see docs/security.md, \"What remains after an erasure\").\n")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// compareLive compares the report's tables with those of the server: the
// same set of tables and views, and the same TTL (both sides normalised by
// the server's formatQuerySingleLine, which spells INTERVAL 180 DAY as
// toIntervalDay(180)).
func compareLive(ctx context.Context, st *store.Store, objs []schemaObject) ([]string, error) {
	tables, err := st.Tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	live := map[string][2]string{}
	for name, t := range tables {
		if name != "schema_migrations" {
			live[name] = [2]string{t.Engine, t.EngineFull}
		}
	}
	if len(live) == 0 {
		return nil, errors.New("live: no tables in the database; run `commpulse migrate` first")
	}
	norm := func(expr string) (string, error) {
		if expr == "" {
			return "", nil
		}
		expr = strings.TrimSuffix(strings.TrimSpace(expr), " DELETE") // the default action, not shown by the server
		out, err := st.FormatQuery(ctx, "SELECT "+expr)
		if err != nil {
			return "", fmt.Errorf("live: normalise TTL %q: %w", expr, err)
		}
		return out, nil
	}
	var diffs []string
	for _, o := range objs {
		l, ok := live[o.Name]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s: created by %s, missing on the server", o.Name, o.Migration))
			continue
		}
		delete(live, o.Name)
		if o.View != (l[0] == "View") {
			diffs = append(diffs, fmt.Sprintf("%s: engine %s on the server, %s in the migrations", o.Name, l[0], o.Engine))
			continue
		}
		var liveTTL string
		if t := ttlRE.FindStringSubmatch(l[1]); t != nil {
			liveTTL = t[1]
		}
		want, err := norm(o.TTL)
		if err != nil {
			return nil, err
		}
		got, err := norm(liveTTL)
		if err != nil {
			return nil, err
		}
		if want != got {
			diffs = append(diffs, fmt.Sprintf("%s: TTL %q on the server, %q in the migrations", o.Name, liveTTL, o.TTL))
		}
	}
	for name := range live {
		diffs = append(diffs, fmt.Sprintf("%s: on the server, created by no migration (not in this report)", name))
	}
	return diffs, nil
}
