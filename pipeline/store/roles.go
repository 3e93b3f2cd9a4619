package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The access model: one definition, rendered two ways.
//
// ClickHouse production servers (>= 25.8) get SQL: a role per job with its
// grants, and one user per role that holds the role (AccessModel.SQL, applied
// by `commpulse migrate --roles`, printed by `--print-roles-sql`). The
// embedded server (internal/chlocal) cannot enable SQL-driven access control
// (no writeable access storage), so it gets the same users with the same
// grants as an XML users file (AccessModel.UsersXML, chlocal.Config.
// ConfigFile). Both renderings come from AccessModel.users, and a test parses
// both outputs back and checks they agree.
//
// Who is who:
//
//   - writer (ingest and analyze): SELECT and INSERT on the tables they read
//     and write, ALTER DELETE where they delete (erasure, window re-runs),
//     ALTER UPDATE on messages (erasure removes a person from recipient
//     lists). No DDL, no views, no other database, no system table that
//     needs a grant (system.tables and the like are filtered to what the
//     user may see and need no grant), no file()/url()/remote().
//   - analyst (Grafana): SELECT on PublishedViews only, with readonly = 2
//     (settings may be changed, readonly itself may not, so no writes and no
//     DDL even if a grant were added by mistake). The views run with definer
//     security (migration 0005), so the analyst needs no grant on the
//     tables under them.
//   - reviewer (`commpulse review`, the review API): SELECT on anomalies
//     and SELECT, INSERT on anomaly_reviews, nothing else: the one job that
//     faces reviewers over the network reads no person-level table and
//     writes nothing but reviews. The writer reads anomaly_reviews too
//     (analyze's suppression of repeats) but does not write it.
//   - admin (`commpulse migrate`, manual erasure): DDL, reads, writes and
//     mutations on the database (adminPrivileges), plus the table engines
//     the migrations use. It is not a server administrator: it cannot
//     create users, read other databases or system tables that need a
//     grant, or use file()/url()/remote().
//     Applying the roles themselves (--roles) needs a user with access
//     management, usually the server's bootstrap user.
//
// On a cluster (AccessModel.Cluster, the deployment's store.Cluster) the
// tables that queries name are Distributed tables over each shard's
// <table>_local (ClusterLayout), and the model grants more (AccessModel.
// Grants):
//
//   - every grant on a sharded table is also a grant, with the same
//     privileges, on its local table: erasure runs its mutations on the
//     local tables through a connection per shard, a server reading its
//     own shard of a Distributed table checks the querying user on the
//     local table, and so does every shard with an interserver <secret> in
//     remote_servers. The analyst reads views only and gets no local
//     grant: the views run as their definer, the admin;
//   - the admin and the writer may read system.clusters, where migrate and
//     erasure check the layout (Store.openShards);
//   - the admin's engines include Distributed and, with Replicated, the
//     Replicated variant of each engine;
//   - one more role, interserver (ClusterRoles): the user the servers name
//     in remote_servers (<user>, <password> of each replica), as which a
//     shard runs what a Distributed table sends it from another shard. It
//     may SELECT and INSERT the local tables and nothing else. Without it
//     the servers use their default user, and then the admin, who may
//     create Distributed tables, reads any table of any database of the
//     other shards through one (system.users included: found by
//     TestRolesOnCluster). With an interserver <secret> instead, a shard
//     checks the initial user, which the published views do not survive
//     (ClickHouse #88009: the analyst, not the views' definer, is checked
//     on the local tables), so the model assumes a cluster without one.
//
// The SQL then also differs by replication, as migrate does: with
// Replicated every statement is ON CLUSTER and runs once (Keeper
// distributes it; a server that keeps users in replicated access storage
// needs no ON CLUSTER, and gets it harmlessly); without it there may be no
// Keeper, so the statements carry no ON CLUSTER and ApplyRoles runs them on
// every shard in turn. The users XML is one file that every server reads.

// PublishedViews are the relations dashboards and analysts may read: the
// k-safe views of team-level figures. This is the one list the analyst's
// grants, the dashboards' test and migration 0005 use. A name may be listed
// before a migration creates it: ClickHouse grants by name, and 0005 only
// touches the views that exist.
var PublishedViews = []string{"team_stats_k", "team_network_k", "anomalies_k", "graph_metrics_k", "team_themes_k", "anomaly_reviews_k", "team_belonging_k", "team_forecasts_k"}

// Role is a job that connects to ClickHouse.
type Role string

// The roles.
const (
	RoleAdmin    Role = "admin"
	RoleWriter   Role = "writer"
	RoleAnalyst  Role = "analyst"
	RoleReviewer Role = "reviewer"
)

// RoleInterserver is the user of a cluster's servers for each other
// (remote_servers); it exists on a cluster only.
const RoleInterserver Role = "interserver"

// Roles lists every role of one server in the order the SQL creates them.
var Roles = []Role{RoleAdmin, RoleWriter, RoleAnalyst, RoleReviewer}

// ClusterRoles are the roles a cluster has in addition to Roles.
var ClusterRoles = []Role{RoleInterserver}

// Grant is one GRANT: privileges on one object. On is a table of the
// database (a bare name), "*" for the whole database, a table of another
// database by its qualified name (system.clusters), or, with the TABLE
// ENGINE privilege, an engine name.
type Grant struct {
	Privileges []string
	On         string
}

var (
	rw       = []string{"SELECT", "INSERT"}
	rwDelete = []string{"SELECT", "INSERT", "ALTER DELETE"}
)

// writerGrants are the tables ingest and analyze use, with what they do.
// A test checks that every table the migrations create (but
// schema_migrations) is here, so a new table is a decision, not an
// accident.
var writerGrants = []Grant{
	{[]string{"SELECT", "INSERT", "ALTER DELETE", "ALTER UPDATE"}, "messages"},
	{rw, "erasures"},
	{rwDelete, "edges"},
	{rwDelete, "node_metrics"},
	{rwDelete, "team_stats"},
	{rwDelete, "team_themes"},
	{rwDelete, "team_belonging"},
	{rwDelete, "team_forecasts"},
	{rwDelete, "team_network"},
	{rwDelete, "graph_metrics"},
	{rwDelete, "anomalies"},
	{rwDelete, "analyzer_windows"},
	{[]string{"SELECT"}, "anomaly_reviews"}, // standing dismissals suppress repeat alerts
}

// reviewerGrants are what the review CLI and API use: the anomalies to
// review, and the reviews (no ALTER DELETE: a review is replaced by a
// newer one, never deleted; the TTL removes it with its anomaly).
var reviewerGrants = []Grant{
	{[]string{"SELECT"}, "anomalies"},
	{rw, "anomaly_reviews"},
}

// adminPrivileges are what migrations and manual erasure need on the
// database, spelled out rather than ALL: on ClickHouse 26, `GRANT ALL ON
// db.*` also grants parameterised privileges named after the database
// (IMPERSONATE, SET DEFINER, CREATE USER ... ON "db"), i.e. power over a
// user that happens to be called like the database.
var adminPrivileges = []string{"SELECT", "INSERT", "ALTER", "CREATE DATABASE", "CREATE TABLE", "CREATE VIEW", "DROP TABLE", "DROP VIEW", "OPTIMIZE"}

// AdminTableEngines are the engines migrations may create tables with.
// ClickHouse can require a TABLE ENGINE grant (the embedded server does;
// access_control_improvements.table_engines_require_grant); engines that
// reach outside the server (File, URL, S3, MySQL, ...) are deliberately
// absent.
var AdminTableEngines = []string{"MergeTree", "ReplacingMergeTree", "AggregatingMergeTree", "SummingMergeTree"}

// clusterSystemGrant lets a user that reaches every shard itself (migrate
// and erasure, Store.openShards) read the cluster's layout.
var clusterSystemGrant = Grant{[]string{"SELECT"}, "system.clusters"}

// RoleGrants returns the grants of role r on one server. Table names are
// bare; the renderers qualify them with the database. AccessModel.Grants
// adds what a cluster needs.
func RoleGrants(r Role) []Grant {
	switch r {
	case RoleWriter:
		return writerGrants
	case RoleReviewer:
		return reviewerGrants
	case RoleAnalyst:
		var gs []Grant
		for _, v := range PublishedViews {
			gs = append(gs, Grant{[]string{"SELECT"}, v})
		}
		return gs
	case RoleAdmin:
		gs := []Grant{{adminPrivileges, "*"}}
		for _, e := range AdminTableEngines {
			gs = append(gs, Grant{[]string{"TABLE ENGINE"}, e})
		}
		return gs
	}
	return nil
}

// RoleSettings are the settings a role's user runs with.
func RoleSettings(r Role) map[string]string {
	if r == RoleAnalyst {
		return map[string]string{"readonly": "2"}
	}
	return nil
}

// RoleFixedSettings are the settings a role's user may not change (a CONST
// constraint): readonly = 2 lets the analyst change any other setting, and
// additional_table_filters adds a filter the server evaluates on the rows
// of a named table as it reads them, inside a published view's definer
// query and before the view's own WHERE: with throwIf it answered yes or
// no about any row the views hide, a team below k included
// (internal/attack TestAttackAnalystFilterOracle).
func RoleFixedSettings(r Role) []string {
	if r == RoleAnalyst {
		return []string{"additional_table_filters"}
	}
	return nil
}

// AccessModel is the access model for one database.
type AccessModel struct {
	// Database is the commpulse database; "" is DefaultDatabase.
	Database string
	// Passwords holds the password of each role's user. A role without one
	// gets no user (the SQL still creates the role and its grants), so an
	// operator can create users by hand or keep an existing one.
	Passwords map[Role]string
	// Cluster is the deployment's cluster (Config.Cluster); the zero value
	// is one server. Only Name and Replicated matter here.
	Cluster Cluster
}

// Roles returns the roles of m's deployment: Roles, and on a cluster
// ClusterRoles too.
func (m AccessModel) Roles() []Role {
	if !m.Cluster.Enabled() {
		return Roles
	}
	return append(slices.Clone(Roles), ClusterRoles...)
}

// Grants returns the grants of role r in m's deployment: RoleGrants(r) on
// one server; on a cluster, each grant on a sharded table followed by the
// same grant on its local table, system.clusters for the roles that reach
// every shard, the cluster's engines for the admin, and SELECT, INSERT on
// every local table for the interserver user.
func (m AccessModel) Grants(r Role) []Grant {
	gs := RoleGrants(r)
	if !m.Cluster.Enabled() {
		return gs
	}
	if r == RoleInterserver {
		var out []Grant
		for _, t := range slices.Sorted(maps.Keys(ClusterLayout)) {
			if ClusterLayout[t] != "" {
				out = append(out, Grant{rw, LocalTable(t)})
			}
		}
		return out
	}
	var out []Grant
	for _, g := range gs {
		out = append(out, g)
		if ClusterLayout[g.On] != "" {
			out = append(out, Grant{g.Privileges, LocalTable(g.On)})
		}
	}
	if r == RoleAdmin {
		out = append(out, Grant{[]string{"TABLE ENGINE"}, "Distributed"})
		if m.Cluster.Replicated {
			for _, e := range AdminTableEngines {
				out = append(out, Grant{[]string{"TABLE ENGINE"}, "Replicated" + e})
			}
		}
	}
	if r == RoleAdmin || r == RoleWriter {
		out = append(out, clusterSystemGrant)
	}
	return out
}

// UserName is the ClickHouse user of role r: "<database>_<role>", e.g.
// commpulse_writer. Deployments refer to these names.
func (m AccessModel) UserName(r Role) string { return m.db() + "_" + string(r) }

// RoleName is the SQL role of r: "<database>_<role>_role". Users and roles
// get different names so that neither can shadow the other.
func (m AccessModel) RoleName(r Role) string { return m.UserName(r) + "_role" }

func (m AccessModel) db() string {
	if m.Database == "" {
		return DefaultDatabase
	}
	return m.Database
}

// grantText renders g without the grantee: "GRANT SELECT ON db.t". The
// users XML takes it as is; the SQL adds ON CLUSTER (m.onCluster).
func (m AccessModel) grantText(g Grant) string {
	on := m.db() + "." + g.On
	if strings.Contains(g.On, ".") || len(g.Privileges) == 1 && g.Privileges[0] == "TABLE ENGINE" {
		on = g.On
	}
	return "GRANT " + strings.Join(g.Privileges, ", ") + " ON " + on
}

// onCluster is the ON CLUSTER clause of the SQL: with replication only
// (see the package comment on clusters).
func (m AccessModel) onCluster() string {
	if m.Cluster.Enabled() && m.Cluster.Replicated {
		return " ON CLUSTER " + m.Cluster.Name
	}
	return ""
}

// user is one role's user with everything both renderings need.
type user struct {
	role      Role
	name      string
	roleName  string
	sha256Hex string
	grants    []string // GRANT ... ON ..., without the grantee
	settings  map[string]string
	fixed     []string // settings the user may not change (RoleFixedSettings)
}

func (m AccessModel) validate() error {
	if !identRE.MatchString(m.db()) {
		return fmt.Errorf("access model: database %q: must match %s", m.db(), identRE)
	}
	if err := m.Cluster.Validate(); err != nil {
		return fmt.Errorf("access model: %w", err)
	}
	for r, pw := range m.Passwords {
		if slices.Contains(ClusterRoles, r) && !m.Cluster.Enabled() {
			return fmt.Errorf("access model: the %s role exists on a cluster only (--cluster)", r)
		}
		if !slices.Contains(m.Roles(), r) {
			return fmt.Errorf("access model: unknown role %q", r)
		}
		if pw == "" {
			return fmt.Errorf("access model: empty password for the %s user", r)
		}
	}
	return nil
}

// users returns every role, with its password hash when it has a user.
func (m AccessModel) users() []user {
	var out []user
	for _, r := range m.Roles() {
		u := user{role: r, name: m.UserName(r), roleName: m.RoleName(r), settings: RoleSettings(r), fixed: RoleFixedSettings(r)}
		if pw, ok := m.Passwords[r]; ok {
			sum := sha256.Sum256([]byte(pw))
			u.sha256Hex = hex.EncodeToString(sum[:])
		}
		for _, g := range m.Grants(r) {
			u.grants = append(u.grants, m.grantText(g))
		}
		out = append(out, u)
	}
	return out
}

// SQL returns the statements that create or update the roles and users on a
// production server, in order. They are idempotent: a role is created if
// missing and its privileges are revoked and granted again, so a re-run
// removes a privilege the model no longer has (between the REVOKE and the
// GRANTs the role has no access for a moment; apply during a quiet period
// or accept a retried batch). A user is created if missing and its password
// set again, so rotating a password file and re-running rotates the
// password. Passwords appear only as SHA-256 hashes; they must be long and
// random (the hash is unsalted, as in the XML form).
func (m AccessModel) SQL() ([]string, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	var out []string
	on := m.onCluster()
	// grant puts ON CLUSTER where GRANT and REVOKE take it, right after
	// the keyword.
	grant := func(kw, rest string) string { return kw + on + strings.TrimPrefix(rest, kw) }
	for _, u := range m.users() {
		out = append(out, "CREATE ROLE IF NOT EXISTS "+u.roleName+on)
		if s := settingsClause(u.settings, u.fixed); s != "" {
			out = append(out, "ALTER ROLE "+u.roleName+on+" SETTINGS "+s)
		}
		out = append(out, grant("REVOKE", "REVOKE ALL ON *.* FROM "+u.roleName))
		for _, g := range u.grants {
			out = append(out, grant("GRANT", g+" TO "+u.roleName))
		}
	}
	for _, u := range m.users() {
		if u.sha256Hex == "" {
			continue
		}
		id := " IDENTIFIED WITH sha256_hash BY '" + u.sha256Hex + "'"
		out = append(out,
			"CREATE USER IF NOT EXISTS "+u.name+on+id,
			"ALTER USER "+u.name+on+id,
			grant("GRANT", "GRANT "+u.roleName+" TO "+u.name),
			"ALTER USER "+u.name+on+" DEFAULT ROLE "+u.roleName,
		)
	}
	return out, nil
}

// SQLScript is SQL as one script for review, with a header.
func (m AccessModel) SQLScript() (string, error) {
	stmts, err := m.SQL()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- commpulse access model for database %s (store.AccessModel).\n", m.db())
	switch c := m.Cluster; {
	case c.Enabled() && c.Replicated:
		fmt.Fprintf(&b, "-- cluster %s, replicated: run once, ON CLUSTER (needs Keeper).\n", c.Name)
	case c.Enabled():
		fmt.Fprintf(&b, "-- cluster %s: run on every server of the cluster (migrate --roles does).\n", c.Name)
	}
	for _, u := range m.users() {
		if u.sha256Hex == "" {
			fmt.Fprintf(&b, "-- no password for the %s role: user %s is not created or changed.\n", u.role, u.name)
		}
	}
	for _, s := range stmts {
		b.WriteString(s)
		b.WriteString(";\n")
	}
	return b.String(), nil
}

func settingsClause(s map[string]string, fixed []string) string {
	var parts []string
	for _, k := range sortedSettingKeys(s) {
		parts = append(parts, k+" = "+s[k])
	}
	for _, k := range fixed {
		parts = append(parts, k+" CONST")
	}
	return strings.Join(parts, ", ")
}

func sortedSettingKeys(s map[string]string) []string { return slices.Sorted(maps.Keys(s)) }

// ApplyRoles runs SQL on the server. The connected user needs access
// management and every granted privilege with the grant option (the
// server's bootstrap user has both); the embedded server refuses (no
// writeable access storage: use UsersXML). A model without a database or
// a cluster takes the store's. On a cluster without replication it runs
// the statements on every shard in turn (Store.openShards), as migrate
// does; with replication once, ON CLUSTER.
func (s *Store) ApplyRoles(ctx context.Context, m AccessModel) error {
	if m.Database == "" {
		m.Database = s.cfg.Database
	}
	if !m.Cluster.Enabled() {
		m.Cluster = s.cfg.Cluster
	}
	stmts, err := m.SQL()
	if err != nil {
		return err
	}
	if !m.Cluster.Enabled() || m.Cluster.Replicated {
		return s.applyRoles(ctx, stmts)
	}
	shs, err := s.openShards(ctx)
	if err != nil {
		return fmt.Errorf("apply roles: %w", err)
	}
	defer closeShards(shs)
	for _, sh := range shs {
		if err := sh.st.applyRoles(ctx, stmts); err != nil {
			return fmt.Errorf("%s: %w", sh, err)
		}
	}
	return nil
}

func (s *Store) applyRoles(ctx context.Context, stmts []string) error {
	for i, q := range stmts {
		if err := s.conn.Exec(ctx, q); err != nil {
			// The statement names users and roles and holds at most a
			// password hash; the error names the statement's position only.
			return fmt.Errorf("apply roles: statement %d of %d (%s): %w", i+1, len(stmts), firstWords(q, 3), err)
		}
	}
	return nil
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}

// XML of a ClickHouse users configuration.
type (
	xmlConfig struct {
		XMLName  xml.Name `xml:"clickhouse"`
		Comment  string   `xml:",comment"`
		UsersXML xmlPath  `xml:"user_directories>users_xml"`
		Profiles xmlAny   `xml:"profiles"`
		Quotas   xmlAny   `xml:"quotas"`
		Users    xmlUsers `xml:"users"`
	}
	xmlPath struct {
		Path string `xml:"path"`
	}
	xmlAny struct {
		Items []xmlElem `xml:",any"`
	}
	xmlElem struct {
		XMLName xml.Name
		Items   []xmlElem `xml:",any"`
		Text    string    `xml:",chardata"`
	}
	xmlUsers struct {
		Users []xmlUser `xml:",any"`
	}
	xmlUser struct {
		XMLName          xml.Name
		Password         *string  `xml:"password"`
		PasswordSHA256   string   `xml:"password_sha256_hex,omitempty"`
		Networks         []string `xml:"networks>ip"`
		Profile          string   `xml:"profile"`
		Quota            string   `xml:"quota"`
		AccessManagement int      `xml:"access_management,omitempty"`
		Grants           *xmlGrants
	}
	xmlGrants struct {
		XMLName xml.Name `xml:"grants"`
		Query   []string `xml:"query"`
	}
)

// loopback are the networks the embedded server's users may connect from.
var loopback = []string{"127.0.0.1", "::1"}

// UsersXML returns a ClickHouse configuration file for the embedded server
// (chlocal.Config.ConfigFile) holding the model's users with their grants
// inlined (XML users cannot hold SQL roles) and the analyst's readonly
// profile. path is where the file will be written: the file names itself
// as the users_xml directory, which is how the engine is told to read
// <users> from it. The engine's own user, default, stays passwordless with
// full access and access management: the engine runs its start-up queries
// as default, tests create databases with it, and the server listens on
// loopback only. Roles without a password get no user.
func (m AccessModel) UsersXML(path string) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	if path == "" {
		return nil, fmt.Errorf("users xml: no path")
	}
	empty := ""
	c := xmlConfig{
		Comment:  " commpulse access model for database " + m.db() + " (store.AccessModel.UsersXML); restart the server after a change. ",
		UsersXML: xmlPath{Path: path},
		Profiles: xmlAny{Items: []xmlElem{{XMLName: xml.Name{Local: "default"}}}},
		Quotas:   xmlAny{Items: []xmlElem{{XMLName: xml.Name{Local: "default"}}}},
	}
	c.Users.Users = append(c.Users.Users, xmlUser{
		XMLName: xml.Name{Local: "default"}, Password: &empty, Networks: loopback,
		Profile: "default", Quota: "default", AccessManagement: 1,
	})
	for _, u := range m.users() {
		if u.sha256Hex == "" {
			continue
		}
		profile := "default"
		if len(u.settings) > 0 || len(u.fixed) > 0 {
			profile = u.name
			p := xmlElem{XMLName: xml.Name{Local: profile}}
			for _, k := range sortedSettingKeys(u.settings) {
				p.Items = append(p.Items, xmlElem{XMLName: xml.Name{Local: k}, Text: u.settings[k]})
			}
			if len(u.fixed) > 0 {
				cs := xmlElem{XMLName: xml.Name{Local: "constraints"}}
				for _, k := range u.fixed {
					cs.Items = append(cs.Items, xmlElem{XMLName: xml.Name{Local: k}, Items: []xmlElem{{XMLName: xml.Name{Local: "const"}}}})
				}
				p.Items = append(p.Items, cs)
			}
			c.Profiles.Items = append(c.Profiles.Items, p)
		}
		c.Users.Users = append(c.Users.Users, xmlUser{
			XMLName: xml.Name{Local: u.name}, PasswordSHA256: u.sha256Hex, Networks: loopback,
			Profile: profile, Quota: "default", Grants: &xmlGrants{Query: u.grants},
		})
	}
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("users xml: %w", err)
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}
