package store

import (
	"context"
	"encoding/xml"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"commpulse/internal/chlocal/chtest"
)

var testModel = AccessModel{Database: "cpdb", Passwords: map[Role]string{
	RoleAdmin: "admin-pw-0123456789", RoleWriter: "writer-pw-0123456789", RoleAnalyst: "analyst-pw-0123456789",
	RoleReviewer: "reviewer-pw-0123456789",
}}

// parsedUser is what either rendering says about one user, reduced to
// comparable sets: each GRANT split into "PRIVILEGE ON object" pairs.
type parsedUser struct {
	sha256   string
	grants   []string // sorted, one privilege each
	settings map[string]string
}

func splitGrant(t *testing.T, g string) []string {
	t.Helper()
	m := regexp.MustCompile(`^GRANT (.+) ON (\S+)$`).FindStringSubmatch(g)
	if m == nil {
		t.Fatalf("not a GRANT ... ON ...: %q", g)
	}
	var out []string
	for _, p := range strings.Split(m[1], ",") {
		out = append(out, strings.TrimSpace(p)+" ON "+m[2])
	}
	return out
}

// parseSQL reads the users back out of the SQL statements: the users, the
// role each holds, the role's grants and settings.
func parseSQL(t *testing.T, stmts []string) map[string]*parsedUser {
	t.Helper()
	var (
		roleGrants   = map[string][]string{}
		roleSettings = map[string]map[string]string{}
		userHash     = map[string]string{}
		userRole     = map[string]string{}
		grantTo      = regexp.MustCompile(`^(GRANT .+ ON \S+) TO (\w+)$`)
		grantRole    = regexp.MustCompile(`^GRANT (\w+) TO (\w+)$`)
		createUser   = regexp.MustCompile(`^CREATE USER IF NOT EXISTS (\w+) IDENTIFIED WITH sha256_hash BY '([0-9a-f]{64})'$`)
		alterRoleSet = regexp.MustCompile(`^ALTER ROLE (\w+) SETTINGS (.+)$`)
		setting      = regexp.MustCompile(`^(\w+)(?: = (\w+)| (CONST))$`)
	)
	for _, s := range stmts {
		switch {
		case grantTo.MatchString(s):
			m := grantTo.FindStringSubmatch(s)
			roleGrants[m[2]] = append(roleGrants[m[2]], splitGrant(t, m[1])...)
		case grantRole.MatchString(s):
			m := grantRole.FindStringSubmatch(s)
			userRole[m[2]] = m[1]
		case createUser.MatchString(s):
			m := createUser.FindStringSubmatch(s)
			userHash[m[1]] = m[2]
		case alterRoleSet.MatchString(s):
			m := alterRoleSet.FindStringSubmatch(s)
			if roleSettings[m[1]] == nil {
				roleSettings[m[1]] = map[string]string{}
			}
			for _, kv := range strings.Split(m[2], ", ") {
				sm := setting.FindStringSubmatch(kv)
				if sm == nil {
					t.Fatalf("SQL setting %q of %s", kv, m[1])
				}
				roleSettings[m[1]][sm[1]] = sm[2] + sm[3]
			}
		}
	}
	out := map[string]*parsedUser{}
	for u, h := range userHash {
		r, ok := userRole[u]
		if !ok {
			t.Fatalf("SQL creates user %s but grants it no role", u)
		}
		g := slices.Sorted(slices.Values(roleGrants[r]))
		out[u] = &parsedUser{sha256: h, grants: g, settings: roleSettings[r]}
	}
	return out
}

type xmlDoc struct {
	Dir      string `xml:"user_directories>users_xml>path"`
	Profiles struct {
		Items []struct {
			XMLName  xml.Name
			Settings []struct {
				XMLName xml.Name
				Value   string `xml:",chardata"`
				// constraints: one element per setting, holding <const/>
				Fixed []struct {
					XMLName xml.Name
					Const   *struct{} `xml:"const"`
				} `xml:",any"`
			} `xml:",any"`
		} `xml:",any"`
	} `xml:"profiles"`
	Users struct {
		Items []struct {
			XMLName  xml.Name
			Password *string  `xml:"password"`
			SHA256   string   `xml:"password_sha256_hex"`
			Networks []string `xml:"networks>ip"`
			Profile  string   `xml:"profile"`
			Grants   []string `xml:"grants>query"`
		} `xml:",any"`
	} `xml:"users"`
}

func parseXML(t *testing.T, b []byte) (map[string]*parsedUser, xmlDoc) {
	t.Helper()
	var d xmlDoc
	if err := xml.Unmarshal(b, &d); err != nil {
		t.Fatalf("users xml: %v\n%s", err, b)
	}
	profiles := map[string]map[string]string{}
	for _, p := range d.Profiles.Items {
		s := map[string]string{}
		for _, kv := range p.Settings {
			if kv.XMLName.Local == "constraints" {
				for _, c := range kv.Fixed {
					if c.Const != nil {
						s[c.XMLName.Local] = "CONST"
					}
				}
				continue
			}
			s[kv.XMLName.Local] = kv.Value
		}
		profiles[p.XMLName.Local] = s
	}
	out := map[string]*parsedUser{}
	for _, u := range d.Users.Items {
		if u.XMLName.Local == "default" {
			continue
		}
		var g []string
		for _, q := range u.Grants {
			g = append(g, splitGrant(t, q)...)
		}
		p, ok := profiles[u.Profile]
		if !ok {
			t.Fatalf("xml user %s: unknown profile %q", u.XMLName.Local, u.Profile)
		}
		if len(p) == 0 {
			p = nil
		}
		out[u.XMLName.Local] = &parsedUser{sha256: u.SHA256, grants: slices.Sorted(slices.Values(g)), settings: p}
	}
	return out, d
}

// The two renderings of the access model hold the same users with the same
// password hashes, grants and settings.
func TestAccessModelFormsAgree(t *testing.T) {
	stmts, err := testModel.SQL()
	if err != nil {
		t.Fatal(err)
	}
	b, err := testModel.UsersXML("/x/users.xml")
	if err != nil {
		t.Fatal(err)
	}
	fromSQL := parseSQL(t, stmts)
	fromXML, doc := parseXML(t, b)
	if doc.Dir != "/x/users.xml" {
		t.Errorf("users_xml path %q", doc.Dir)
	}
	want := []string{"cpdb_admin", "cpdb_analyst", "cpdb_reviewer", "cpdb_writer"}
	if got := slices.Sorted(maps.Keys(fromSQL)); !slices.Equal(got, want) {
		t.Fatalf("SQL users %v, want %v", got, want)
	}
	if got := slices.Sorted(maps.Keys(fromXML)); !slices.Equal(got, want) {
		t.Fatalf("XML users %v, want %v", got, want)
	}
	for _, u := range want {
		s, x := fromSQL[u], fromXML[u]
		if s.sha256 != x.sha256 || !slices.Equal(s.grants, x.grants) || !maps.Equal(s.settings, x.settings) {
			t.Errorf("user %s differs:\nSQL %+v\nXML %+v", u, *s, *x)
		}
		if len(s.grants) == 0 {
			t.Errorf("user %s has no grants", u)
		}
	}
	// What each role may do, spelled out.
	var views []string
	for _, v := range PublishedViews {
		views = append(views, "SELECT ON cpdb."+v)
	}
	if got := fromSQL["cpdb_analyst"].grants; !slices.Equal(got, slices.Sorted(slices.Values(views))) {
		t.Errorf("analyst grants %v; want SELECT on the published views only", got)
	}
	if st := fromSQL["cpdb_analyst"].settings; st["readonly"] != "2" || st["additional_table_filters"] != "CONST" {
		t.Errorf("analyst settings %v; want readonly 2 and additional_table_filters CONST", st)
	}
	for _, g := range fromSQL["cpdb_writer"].grants {
		priv, on, _ := strings.Cut(g, " ON ")
		if !slices.Contains([]string{"SELECT", "INSERT", "ALTER DELETE", "ALTER UPDATE"}, priv) || !strings.HasPrefix(on, "cpdb.") || strings.Contains(on, "*") {
			t.Errorf("writer grant %q: want SELECT, INSERT, ALTER DELETE/UPDATE on single commpulse tables", g)
		}
		if slices.Contains(PublishedViews, strings.TrimPrefix(on, "cpdb.")) {
			t.Errorf("writer grant %q: the writer does not read the published views", g)
		}
	}
	// The reviewer (the review API, facing reviewers over the network)
	// reads the anomalies and reads and writes reviews, nothing else.
	if got, w := fromSQL["cpdb_reviewer"].grants, []string{"INSERT ON cpdb.anomaly_reviews", "SELECT ON cpdb.anomalies", "SELECT ON cpdb.anomaly_reviews"}; !slices.Equal(got, w) {
		t.Errorf("reviewer grants %v; want %v", got, w)
	}
	if !slices.Contains(fromSQL["cpdb_writer"].grants, "SELECT ON cpdb.anomaly_reviews") || slices.Contains(fromSQL["cpdb_writer"].grants, "INSERT ON cpdb.anomaly_reviews") {
		t.Errorf("writer grants %v; want SELECT but not INSERT on anomaly_reviews (analyze reads dismissals)", fromSQL["cpdb_writer"].grants)
	}
	// The engine's own user stays loopback-only.
	for _, u := range doc.Users.Items {
		if !slices.Equal(u.Networks, loopback) {
			t.Errorf("xml user %s networks %v; want loopback only", u.XMLName.Local, u.Networks)
		}
		if u.XMLName.Local != "default" && (u.Password != nil || len(u.SHA256) != 64) {
			t.Errorf("xml user %s: want a password_sha256_hex and no plain password", u.XMLName.Local)
		}
	}
	// Neither rendering carries a plain password.
	all := strings.Join(stmts, "\n") + string(b)
	for _, pw := range testModel.Passwords {
		if strings.Contains(all, pw) {
			t.Fatal("a plain password is in the rendered access model")
		}
	}
}

func TestAccessModelUsersOnlyWithPasswords(t *testing.T) {
	m := AccessModel{Passwords: map[Role]string{RoleAnalyst: "pw-0123456789abcdef"}}
	script, err := m.SQLScript()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CREATE ROLE IF NOT EXISTS commpulse_writer_role;", "CREATE USER IF NOT EXISTS commpulse_analyst ",
		"-- no password for the writer role: user commpulse_writer is not created"} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "USER IF NOT EXISTS commpulse_writer ") {
		t.Errorf("a user without a password was created:\n%s", script)
	}
	for _, bad := range []AccessModel{
		{Database: "x; DROP", Passwords: nil},
		{Passwords: map[Role]string{RoleWriter: ""}},
		{Passwords: map[Role]string{"root": "pw"}},
	} {
		if _, err := bad.SQL(); err == nil {
			t.Errorf("SQL of %+v: no error", bad)
		}
		if _, err := bad.UsersXML("/x.xml"); err == nil {
			t.Errorf("UsersXML of %+v: no error", bad)
		}
	}
}

// Every table the migrations create is a decision of the access model: the
// writer has grants on it (or it is schema_migrations, the admin's), and
// every published view that exists runs with definer security.
func TestAccessModelCoversMigratedSchema(t *testing.T) {
	srv := chtest.Server(t)
	db := chtest.NewDatabase(t, srv)
	st, err := Open(Config{Addr: []string{srv.Addr()}, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := st.Conn().Query(ctx, "SELECT name, engine, create_table_query FROM system.tables WHERE database = ?", db)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	granted := map[string]bool{}
	for _, g := range RoleGrants(RoleWriter) {
		granted[g.On] = true
	}
	views := 0
	for rows.Next() {
		var name, engine, create string
		if err := rows.Scan(&name, &engine, &create); err != nil {
			t.Fatal(err)
		}
		switch {
		case engine == "View":
			if !slices.Contains(PublishedViews, name) {
				t.Errorf("view %s is not in store.PublishedViews: publish it or say why it exists", name)
			}
			if !strings.Contains(create, "SQL SECURITY DEFINER") {
				t.Errorf("view %s lacks definer security: %s", name, create)
			}
			views++
		case name == "schema_migrations":
		case !granted[name]:
			t.Errorf("table %s (%s) has no writer grant: add it to writerGrants or say why not", name, engine)
		}
	}
	if views < 3 {
		t.Errorf("%d published views exist; want at least team_stats_k, team_network_k, anomalies_k", views)
	}
	// A view re-created with invoker security is caught on the next run.
	if err := st.Conn().Exec(ctx, "ALTER TABLE "+db+".anomalies_k MODIFY SQL SECURITY INVOKER"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "anomalies_k") {
		t.Fatalf("Migrate with an invoker view: %v; want an error naming anomalies_k", err)
	}
}

// The embedded engine cannot run the SQL form (no writeable access
// storage), but its parser can check it: every statement is valid
// ClickHouse 26 SQL. Running it is left to a production server.
func TestAccessModelSQLParses(t *testing.T) {
	srv := chtest.Server(t)
	st, err := Open(Config{Addr: []string{srv.Addr()}, Database: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	conn := st.Conn()
	stmts, err := testModel.SQL()
	if err != nil {
		t.Fatal(err)
	}
	replicated := testModel
	replicated.Cluster = Cluster{Name: "prod", Replicated: true}
	stmts = append(stmts, mustSQL(t, replicated)...)
	for _, s := range stmts {
		var formatted string
		if err := conn.QueryRow(context.Background(), "SELECT formatQuery(?)", s).Scan(&formatted); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	// And the embedded engine does refuse to run it, as documented.
	if err := st.ApplyRoles(context.Background(), testModel); err == nil {
		t.Error("ApplyRoles worked on the embedded engine; update the docs")
	} else if strings.Contains(err.Error(), "pw-0123456789") {
		t.Errorf("error echoes a password: %v", err)
	}
}

// The SQL of the access model on a cluster, as golden text (a production
// cluster is not available here): every grant on a sharded table is also
// on its local table, the admin may create Distributed (and, replicated,
// Replicated*) tables, the admin and the writer read system.clusters, and
// ON CLUSTER is on every statement exactly when the cluster is replicated.
// The analyst gets no local table.
func TestAccessModelClusterSQL(t *testing.T) {
	for _, tc := range []struct {
		golden string
		c      Cluster
	}{
		{"testdata/roles_cluster.sql", Cluster{Name: "prod"}},
		{"testdata/roles_replicated.sql", Cluster{Name: "prod", Replicated: true}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			m := testModel
			m.Cluster = tc.c
			script, err := m.SQLScript()
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(tc.golden, []byte(script), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(tc.golden)
			if err != nil {
				t.Fatal(err)
			}
			if script != string(want) {
				t.Errorf("SQLScript differs from %s (run with -update after reviewing the change):\n%s", tc.golden, script)
			}
			stmts, err := m.SQL()
			if err != nil {
				t.Fatal(err)
			}
			on := " ON CLUSTER prod"
			for _, s := range stmts {
				if n := strings.Count(s, on); tc.c.Replicated && n != 1 || !tc.c.Replicated && n != 0 {
					t.Errorf("%q: ON CLUSTER %d times; want it exactly when replicated", s, n)
				}
			}
			all := "\n" + strings.Join(stmts, "\n") + "\n"
			grant := func(rest string) string {
				if tc.c.Replicated {
					return "\nGRANT" + on + " " + rest + "\n"
				}
				return "\nGRANT " + rest + "\n"
			}
			mustHave := []string{
				grant("SELECT, INSERT, ALTER DELETE, ALTER UPDATE ON cpdb.messages TO cpdb_writer_role"),
				grant("SELECT, INSERT, ALTER DELETE, ALTER UPDATE ON cpdb.messages_local TO cpdb_writer_role"),
				grant("SELECT, INSERT, ALTER DELETE ON cpdb.node_metrics_local TO cpdb_writer_role"),
				grant("SELECT ON cpdb.anomaly_reviews_local TO cpdb_writer_role"),
				grant("SELECT ON cpdb.anomalies_local TO cpdb_reviewer_role"),
				grant("SELECT, INSERT ON cpdb.anomaly_reviews_local TO cpdb_reviewer_role"),
				grant("TABLE ENGINE ON Distributed TO cpdb_admin_role"),
				grant("SELECT ON system.clusters TO cpdb_admin_role"),
				grant("SELECT ON system.clusters TO cpdb_writer_role"),
				grant("SELECT ON cpdb.team_stats_k TO cpdb_analyst_role"),
			}
			mustHave = append(mustHave, grant("SELECT, INSERT ON cpdb.messages_local TO cpdb_interserver_role"),
				grant("SELECT, INSERT ON cpdb.team_stats_local TO cpdb_interserver_role"))
			mustNot := []string{"erasures_local", "ON cpdb.messages TO cpdb_interserver_role", "ALTER DELETE ON cpdb.messages_local TO cpdb_interserver_role", "_local TO cpdb_analyst_role", "system.clusters TO cpdb_analyst_role", "system.clusters TO cpdb_reviewer_role", "_k_local"}
			if tc.c.Replicated {
				mustHave = append(mustHave, grant("TABLE ENGINE ON ReplicatedReplacingMergeTree TO cpdb_admin_role"),
					"\nCREATE USER IF NOT EXISTS cpdb_writer"+on+" IDENTIFIED WITH sha256_hash BY ",
					"\nREVOKE"+on+" ALL ON *.* FROM cpdb_writer_role\n")
			} else {
				mustNot = append(mustNot, "ON Replicated")
			}
			for _, s := range mustHave {
				if !strings.Contains(all, s) {
					t.Errorf("SQL lacks %q", strings.TrimSpace(s))
				}
			}
			for _, s := range mustNot {
				if strings.Contains(all, s) {
					t.Errorf("SQL has %q", s)
				}
			}
			// Every grant on a sharded table has its twin on the local table.
			for _, r := range Roles {
				gs := m.Grants(r)
				for _, g := range RoleGrants(r) {
					if ClusterLayout[g.On] == "" {
						continue
					}
					if !slices.ContainsFunc(gs, func(l Grant) bool { return l.On == LocalTable(g.On) && slices.Equal(l.Privileges, g.Privileges) }) {
						t.Errorf("%s: %v on %s has no twin on %s", r, g.Privileges, g.On, LocalTable(g.On))
					}
				}
			}
		})
	}
}

// On a cluster the users file holds the same grants as the SQL.
func TestAccessModelClusterFormsAgree(t *testing.T) {
	m := testModel
	m.Cluster = Cluster{Name: "prod"}
	stmts, err := m.SQL()
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.UsersXML("/x/users.xml")
	if err != nil {
		t.Fatal(err)
	}
	fromSQL := parseSQL(t, stmts)
	fromXML, _ := parseXML(t, b)
	if len(fromSQL) != len(Roles) {
		t.Fatalf("SQL users %v", slices.Sorted(maps.Keys(fromSQL)))
	}
	for u, s := range fromSQL {
		x := fromXML[u]
		if x == nil || !slices.Equal(s.grants, x.grants) {
			t.Errorf("user %s: SQL grants %v, XML %+v", u, s.grants, x)
		}
		if single := parseSQL(t, mustSQL(t, testModel))[u]; len(s.grants) <= len(single.grants) && u != "cpdb_analyst" {
			t.Errorf("user %s: %d grants on a cluster, %d on one server; want more", u, len(s.grants), len(single.grants))
		}
	}
	for _, bad := range []AccessModel{
		{Cluster: Cluster{Name: "x y"}},
		{Passwords: map[Role]string{RoleInterserver: "pw-0123456789abcdef"}}, // no cluster
	} {
		if _, err := bad.SQL(); err == nil {
			t.Errorf("SQL of %+v: no error", bad)
		}
	}
	// The interserver user may read and insert the local tables, nothing else.
	is := m
	is.Passwords = map[Role]string{RoleInterserver: "pw-0123456789abcdef"}
	g := parseSQL(t, mustSQL(t, is))["cpdb_interserver"]
	if g == nil || len(g.grants) == 0 {
		t.Fatal("no interserver user")
	}
	for _, p := range g.grants {
		priv, on, _ := strings.Cut(p, " ON ")
		if priv != "SELECT" && priv != "INSERT" || !strings.HasPrefix(on, "cpdb.") || !strings.HasSuffix(on, "_local") {
			t.Errorf("interserver grant %q: want SELECT or INSERT on a local table", p)
		}
	}
}

func mustSQL(t *testing.T, m AccessModel) []string {
	t.Helper()
	s, err := m.SQL()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
