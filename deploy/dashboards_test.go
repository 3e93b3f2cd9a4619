package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"commpulse/internal/chlocal"
	"commpulse/internal/kafkatest"
	"commpulse/internal/synth"
	"commpulse/nlp"
	"commpulse/pipeline/analyze"
	"commpulse/pipeline/ingest"
	"commpulse/pipeline/store"
)

// The ClickHouse dashboards are checked the way Grafana runs them: the
// ClickHouse plugin's frontend resolves $__conditionalAll, Grafana
// substitutes the template variables, the plugin's backend expands the time
// macros, and ClickHouse runs the result. expandSQL reproduces those three
// steps (grafana-clickhouse-datasource v4: pkg/macros and
// src/data/CHDatasource.ts); anything it does not know is left as a "$" and
// fails the test rather than being guessed.

// chQuery is one ClickHouse query of a dashboard: a panel target, an
// annotation or a query variable.
type chQuery struct {
	dashboard string
	where     string // `panel "Title"`, `annotation "Name"`, `variable team`
	sql       string
	format    int    // the plugin's format: 0 time series, 1 table; -1 for annotations and variables
	queryType string // the plugin's queryType: timeSeries or table; "" for annotations and variables
}

// dashVar is a template variable of a dashboard.
type dashVar struct {
	name       string
	typ        string   // custom or query
	values     []string // custom: the option values
	query      string   // query: its SQL
	multi, all bool
}

type chDashboard struct {
	file    string
	vars    []dashVar
	queries []chQuery
}

const chPluginType = "grafana-clickhouse-datasource"

// loadCHDashboards returns the dashboards that have at least one ClickHouse
// query, with their queries and variables. The data source of a query is the
// target's, else the panel's; its type comes from the provisioned data
// sources, so a target pointing at an unknown uid is not silently skipped.
func loadCHDashboards(t testing.TB) []chDashboard {
	t.Helper()
	dsType := map[string]string{}
	for _, ds := range loadDatasources(t) {
		dsType[ds.UID] = ds.Type
	}
	isCH := func(ds *dsRef) bool { return ds != nil && dsType[ds.UID] == chPluginType }
	files, err := filepath.Glob(filepath.Join(root, "deploy/grafana/dashboards/*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards (%v)", err)
	}
	var out []chDashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Templating struct {
				List []struct {
					Name       string          `json:"name"`
					Type       string          `json:"type"`
					Datasource *dsRef          `json:"datasource"`
					Query      json.RawMessage `json:"query"`
					Multi      bool            `json:"multi"`
					IncludeAll bool            `json:"includeAll"`
					Options    []struct {
						Value string `json:"value"`
					} `json:"options"`
				} `json:"list"`
			} `json:"templating"`
			Annotations struct {
				List []struct {
					Name       string `json:"name"`
					Datasource *dsRef `json:"datasource"`
					Target     *struct {
						RawSQL string `json:"rawSql"`
					} `json:"target"`
				} `json:"list"`
			} `json:"annotations"`
			Panels []json.RawMessage `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cd := chDashboard{file: filepath.Base(f)}
		for _, v := range d.Templating.List {
			dv := dashVar{name: v.Name, typ: v.Type, multi: v.Multi, all: v.IncludeAll}
			switch v.Type {
			case "custom":
				for _, o := range v.Options {
					dv.values = append(dv.values, o.Value)
				}
			case "query":
				if !isCH(v.Datasource) {
					continue
				}
				// The query is a string, or an object with the SQL in rawSql.
				var s string
				if json.Unmarshal(v.Query, &s) != nil {
					var o struct {
						RawSQL string `json:"rawSql"`
					}
					_ = json.Unmarshal(v.Query, &o)
					s = o.RawSQL
				}
				if s == "" {
					t.Errorf("%s: query variable %s has no SQL", cd.file, v.Name)
				}
				dv.query = s
				cd.queries = append(cd.queries, chQuery{cd.file, "variable " + v.Name, s, -1, ""})
			}
			cd.vars = append(cd.vars, dv)
		}
		for _, a := range d.Annotations.List {
			if !isCH(a.Datasource) {
				continue
			}
			if a.Target == nil || a.Target.RawSQL == "" {
				t.Errorf("%s: ClickHouse annotation %q has no rawSql", cd.file, a.Name)
				continue
			}
			cd.queries = append(cd.queries, chQuery{cd.file, fmt.Sprintf("annotation %q", a.Name), a.Target.RawSQL, -1, ""})
		}
		var walk func(raw json.RawMessage)
		walk = func(raw json.RawMessage) {
			var p struct {
				Title      string `json:"title"`
				Datasource *dsRef `json:"datasource"`
				Targets    []struct {
					RefID      string `json:"refId"`
					Datasource *dsRef `json:"datasource"`
					RawSQL     string `json:"rawSql"`
					Format     int    `json:"format"`
					QueryType  string `json:"queryType"`
				} `json:"targets"`
				Panels []json.RawMessage `json:"panels"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatalf("%s: %v", cd.file, err)
			}
			for _, tg := range p.Targets {
				ds := tg.Datasource
				if ds == nil {
					ds = p.Datasource
				}
				if !isCH(ds) {
					continue
				}
				where := fmt.Sprintf("panel %q %s", p.Title, tg.RefID)
				if tg.RawSQL == "" {
					t.Errorf("%s %s: ClickHouse target without rawSql", cd.file, where)
					continue
				}
				cd.queries = append(cd.queries, chQuery{cd.file, where, tg.RawSQL, tg.Format, tg.QueryType})
			}
			for _, sub := range p.Panels {
				walk(sub)
			}
		}
		for _, p := range d.Panels {
			walk(p)
		}
		if len(cd.queries) > 0 {
			out = append(out, cd)
		}
	}
	return out
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// expandEnv is what Grafana knows when it runs a query: the time range, the
// interval, and the selected value(s) of each variable (allSelected when the
// "All" option is selected; values then holds every option).
type expandEnv struct {
	from, to    time.Time
	interval    time.Duration
	values      map[string][]string
	allSelected map[string]bool
}

var (
	macroRE    = regexp.MustCompile(`\$__([A-Za-z_]+)`)
	varRE      = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::([A-Za-z]+))?\}|\$([A-Za-z0-9_]+)`)
	leftoverRE = regexp.MustCompile(`\$\{|\$[A-Za-z_]`)
)

// expandSQL turns a dashboard query into what ClickHouse receives.
func expandSQL(sql string, env expandEnv) (string, error) {
	// 1. $__conditionalAll(condition, $var), resolved by the plugin's
	// frontend before variable substitution: "1=1" when All is selected.
	for {
		i := strings.Index(sql, "$__conditionalAll(")
		if i < 0 {
			break
		}
		args, end, err := macroArgs(sql, i+len("$__conditionalAll"))
		if err != nil {
			return "", fmt.Errorf("$__conditionalAll: %w", err)
		}
		if len(args) < 2 {
			return "", fmt.Errorf("$__conditionalAll takes (condition, $variable), got %d arguments", len(args))
		}
		v := strings.TrimSpace(args[len(args)-1])
		m := varRE.FindStringSubmatch(v)
		if m == nil || m[0] != v {
			return "", fmt.Errorf("$__conditionalAll: %q is not a variable", v)
		}
		name := m[1] + m[3]
		if _, ok := env.values[name]; !ok {
			return "", fmt.Errorf("$__conditionalAll: unknown variable %s", name)
		}
		repl := strings.Join(args[:len(args)-1], ",")
		if env.allSelected[name] {
			repl = "1=1"
		}
		sql = sql[:i] + repl + sql[end:]
	}
	// 2. Template variables. A multi-value variable must say how it is
	// formatted (${team:singlequote}); Grafana's default for it is not SQL.
	var verr error
	sql = varRE.ReplaceAllStringFunc(sql, func(s string) string {
		m := varRE.FindStringSubmatch(s)
		name, format := m[1]+m[3], m[2]
		vals, ok := env.values[name]
		if !ok {
			return s // a macro ($__...) or unknown; left for the checks below
		}
		switch format {
		case "singlequote":
			q := make([]string, len(vals))
			for i, v := range vals {
				q[i] = "'" + strings.ReplaceAll(v, "'", `\'`) + "'"
			}
			return strings.Join(q, ",")
		case "percentencode":
			if len(vals) != 1 {
				return "{" + percentEncode(strings.Join(vals, ",")) + "}"
			}
			return percentEncode(vals[0])
		case "":
			if len(vals) != 1 {
				if verr == nil {
					verr = fmt.Errorf("variable %s has %d values and no format (use ${%s:singlequote})", name, len(vals), name)
				}
				return s
			}
			return vals[0]
		default:
			if verr == nil {
				verr = fmt.Errorf("variable format %s of %s is not supported by this test", format, name)
			}
			return s
		}
	})
	if verr != nil {
		return "", verr
	}
	// 3. The plugin backend's macros (pkg/macros), with its exact output.
	dt := func(t time.Time) string { return fmt.Sprintf("toDateTime(%d)", t.Unix()) }
	var b strings.Builder
	for {
		loc := macroRE.FindStringSubmatchIndex(sql)
		if loc == nil {
			b.WriteString(sql)
			break
		}
		b.WriteString(sql[:loc[0]])
		name := sql[loc[2]:loc[3]]
		rest := loc[1]
		var args []string
		if rest < len(sql) && sql[rest] == '(' {
			a, end, err := macroArgs(sql, rest)
			if err != nil {
				return "", fmt.Errorf("$__%s: %w", name, err)
			}
			args, rest = a, end
		}
		one := func() (string, error) {
			if len(args) != 1 {
				return "", fmt.Errorf("$__%s takes 1 argument, got %d", name, len(args))
			}
			return strings.TrimSpace(args[0]), nil
		}
		secs := max(int(env.interval.Seconds()), 1)
		var out string
		switch name {
		case "fromTime":
			out = dt(env.from)
		case "toTime":
			out = dt(env.to)
		case "interval_s":
			out = strconv.Itoa(secs)
		case "timeFilter":
			col, err := one()
			if err != nil {
				return "", err
			}
			out = fmt.Sprintf("%s >= %s AND %s <= %s", col, dt(env.from), col, dt(env.to))
		case "timeInterval":
			col, err := one()
			if err != nil {
				return "", err
			}
			out = fmt.Sprintf("toStartOfInterval(toDateTime(%s), INTERVAL %d second)", col, secs)
		default:
			return "", fmt.Errorf("macro $__%s is not expanded by this test", name)
		}
		b.WriteString(out)
		sql = sql[rest:]
	}
	sql = b.String()
	if loc := leftoverRE.FindStringIndex(sql); loc != nil {
		return "", fmt.Errorf("unexpanded %q in %s", sql[loc[0]:min(loc[1]+10, len(sql))], sql)
	}
	return sql, nil
}

// percentEncode is Grafana's percentencode format (encodeURIComponent, plus
// !'()* encoded): the result holds only [A-Za-z0-9_.~-] and %XX, so inside
// single quotes it can neither close the string nor escape a quote.
func percentEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// macroArgs parses the parenthesised, comma-separated arguments starting at
// sql[open] == '(' (nested parentheses and quoted strings kept whole) and
// returns them with the index just past the closing parenthesis.
func macroArgs(sql string, open int) ([]string, int, error) {
	if open >= len(sql) || sql[open] != '(' {
		return nil, 0, fmt.Errorf("no argument list")
	}
	depth, start := 0, open+1
	var args []string
	var quote byte
	for i := open; i < len(sql); i++ {
		c := sql[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return append(args, sql[start:i]), i + 1, nil
			}
		case c == ',' && depth == 1:
			args = append(args, sql[start:i])
			start = i + 1
		}
	}
	return nil, 0, fmt.Errorf("unbalanced parentheses")
}

func TestDashboardExpandSQL(t *testing.T) {
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	env := expandEnv{
		from: from, to: from.Add(24 * time.Hour), interval: time.Hour,
		values:      map[string][]string{"team": {"a", "b"}, "one": {"x"}, "granularity": {"day"}},
		allSelected: map[string]bool{"team": true},
	}
	some := env
	some.values = map[string][]string{"team": {"a", "o'b"}, "one": {"x"}}
	some.allSelected = nil
	for _, tc := range []struct {
		name, sql string
		env       expandEnv
		want      string // "" means an error is expected
	}{
		{"time filter", "WHERE $__timeFilter(window_start)", env,
			"WHERE window_start >= toDateTime(1793577600) AND window_start <= toDateTime(1793664000)"},
		{"time filter on an expression", "$__timeFilter(a + toIntervalDay(b - 1))", env,
			"a + toIntervalDay(b - 1) >= toDateTime(1793577600) AND a + toIntervalDay(b - 1) <= toDateTime(1793664000)"},
		{"from, to, interval", "$__fromTime $__toTime $__timeInterval(t) $__interval_s", env,
			"toDateTime(1793577600) toDateTime(1793664000) toStartOfInterval(toDateTime(t), INTERVAL 3600 second) 3600"},
		{"conditionalAll with All", "$__conditionalAll(team IN (${team:singlequote}), $team)", env, "1=1"},
		{"conditionalAll with a selection", "$__conditionalAll(team IN (${team:singlequote}), $team)", some,
			`team IN ('a','o\'b')`},
		{"conditionalAll with a comma in the condition", "$__conditionalAll(has([1, 2], x), ${team})", some, "has([1, 2], x)"},
		{"plain variables", "g = '${granularity}' AND o = '$one'", env, "g = 'day' AND o = 'x'"},
		{"percent-encoded", "g = '${granularity:percentencode}'", expandEnv{values: map[string][]string{"granularity": {`x\' OR 1=1 --`}}},
			"g = 'x%5C%27%20OR%201%3D1%20--'"},
		{"multi-value without a format", "team IN ($team)", env, ""},
		{"unknown variable", "WHERE w = $window", env, ""},
		{"unknown macro", "$__timeGroup(t, 1h)", env, ""},
		{"wrong arity", "$__timeFilter(a, b)", env, ""},
		{"unbalanced", "$__timeFilter(a", env, ""},
		{"conditionalAll without a variable", "$__conditionalAll(x = 1, team)", env, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := expandSQL(tc.sql, tc.env)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("expandSQL(%q) = %q, want an error", tc.sql, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("expandSQL(%q) = %q, %v; want %q", tc.sql, got, err, tc.want)
			}
		})
	}
}

var (
	dbTableRE   = regexp.MustCompile(`(?i)\b(FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)`)
	bareTableRE = regexp.MustCompile(`(?i)\b(FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)\b\s*([^.\s]|$)`)
)

// dashboardReadable are the relations a dashboard may read: the published
// views (store.PublishedViews), the only relations Grafana's analyst user
// may SELECT. Person-level tables (messages, edges, node_metrics) and the
// raw team tables are never read.
var dashboardReadable = func() map[string]bool {
	m := map[string]bool{}
	for _, v := range store.PublishedViews {
		m[v] = true
	}
	return m
}()

// Every ClickHouse query of every dashboard names its relations as
// commpulse.<relation> (the test rewrites the database; Grafana's user sees
// only these), and reads team-level data only through the k-safe views.
func TestDashboardQueriesReadKSafeViews(t *testing.T) {
	dashes := loadCHDashboards(t)
	n := 0
	for _, d := range dashes {
		for _, q := range d.queries {
			n++
			refs := dbTableRE.FindAllStringSubmatch(q.sql, -1)
			if len(refs) == 0 {
				t.Errorf("%s %s: reads no commpulse.<relation>", d.file, q.where)
			}
			for _, r := range refs {
				if r[2] != "commpulse" {
					t.Errorf("%s %s: reads %s.%s; dashboards read the commpulse database", d.file, q.where, r[2], r[3])
				}
				if !dashboardReadable[r[3]] {
					t.Errorf("%s %s: reads %s; team-level panels read only the k-safe views %v", d.file, q.where, r[3], sortedKeys(dashboardReadable))
				}
			}
			for _, r := range bareTableRE.FindAllStringSubmatch(q.sql, -1) {
				if r[2] != "" && !strings.EqualFold(r[2], "commpulse") {
					t.Errorf("%s %s: reads %q without the database", d.file, q.where, r[2])
				}
			}
		}
	}
	if len(dashes) < 2 || n < 15 {
		t.Fatalf("%d ClickHouse dashboards with %d queries; want the team and network dashboards", len(dashes), n)
	}
}

// Each panel target says consistently how the plugin shapes its result: a
// time series (queryType timeSeries, format 0) or a table (table, 1). A
// mismatch or a misspelt queryType makes the plugin fall back to a table.
func TestDashboardTargetsFormat(t *testing.T) {
	want := map[string]int{"timeSeries": 0, "table": 1}
	n := 0
	for _, d := range loadCHDashboards(t) {
		for _, q := range d.queries {
			if q.format < 0 {
				continue
			}
			n++
			if f, ok := want[q.queryType]; !ok || f != q.format {
				t.Errorf("%s %s: queryType %q with format %d; want timeSeries/0 or table/1", d.file, q.where, q.queryType, q.format)
			}
		}
	}
	if n == 0 {
		t.Fatal("no ClickHouse panel targets")
	}
}

// dashboardScenarios are planted in the generated history so that the
// anomaly panels and annotations have rows: a sentiment drop, a silo and an
// isolated person, on working days after the daily detectors' warm-up.
const dashboardScenarios = "drop:team-2:2026-11-10:3d,silo:team-3:2026-11-11:2d,isolated:team-4:2026-11-10:3d"

var dashboardStart = time.Date(2026, 10, 19, 0, 0, 0, 0, time.UTC) // a Monday

// generateAnalyzed runs a generated org through Kafka, ingest and analyze
// into a fresh database of a real ClickHouse and returns a connection to it
// as Grafana's user, its name and the org. The server enforces the access
// model (store.AccessModel.UsersXML): the schema is migrated by the admin,
// ingest and analyze run as the writer, and the returned connection is the
// analyst's, so the dashboards are proven to work with the analyst's grants
// and the pipeline with the writer's.
func generateAnalyzed(t *testing.T) (driver.Conn, string, *synth.Org) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Kafka and ClickHouse; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const db = "dashtest"
	model := store.AccessModel{Database: db, Passwords: map[store.Role]string{}}
	for _, r := range store.Roles {
		model.Passwords[r] = "dashboards-" + string(r) + "-password"
	}
	usersFile := filepath.Join(t.TempDir(), "users.xml")
	usersXML, err := model.UsersXML(usersFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(usersFile, usersXML, 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := chlocal.Start(ctx, chlocal.Config{ConfigFile: usersFile})
	if err != nil {
		t.Fatalf("start ClickHouse: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	open := func(r store.Role) *store.Store {
		st, err := store.Open(store.Config{Addr: []string{srv.Addr()}, Database: db, Username: model.UserName(r), Password: model.Passwords[r]})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	if _, err := open(store.RoleAdmin).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	st := open(store.RoleWriter)

	scen, err := synth.ParseScenarios(dashboardScenarios)
	if err != nil {
		t.Fatal(err)
	}
	org := synth.MustNew(synth.Config{Seed: 21, Teams: 5, Start: dashboardStart, Days: 28, Scenarios: scen})
	_, brokers := kafkatest.Start(t)
	cfg := ingest.Defaults()
	evs := kafkatest.ProduceOrg(t, brokers, kafkatest.OrgTopics{Directory: cfg.DirectoryTopic, Consent: cfg.ConsentTopic, Events: cfg.EventsTopic}, org, "")

	cfg.Brokers, cfg.Group = brokers, "dashboards"
	cfg.BatchRows, cfg.BatchInterval, cfg.SessionTimeout = 5000, 200*time.Millisecond, 4*time.Second
	in, err := ingest.New(cfg, st, nlp.New(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- in.Run(runCtx) }()
	for in.Counts().Handled() < int64(evs) {
		select {
		case err := <-done:
			stop()
			t.Fatalf("ingest stopped after %d of %d events: %v", in.Counts().Handled(), evs, err)
		case <-ctx.Done():
			stop()
			t.Fatalf("ingest handled %d of %d events before the deadline", in.Counts().Handled(), evs)
		case <-time.After(100 * time.Millisecond):
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("ingest: %v", err)
	}
	end := org.Config().End()
	a, err := analyze.New(analyze.Config{Now: func() time.Time { return end.Add(2 * time.Hour) }}, st, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	windows, err := a.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated %d events, analyzed %d windows", evs, windows)
	return open(store.RoleAnalyst).Conn(), db, org
}

// queryResult is what a panel query returned, reduced to what the checks need.
type queryResult struct {
	columns []string
	types   []string
	rows    [][]any
}

// empty reports whether the result shows nothing: no row, or a single row
// of zeros and NULLs (an aggregate over no rows, as a stat panel's count()
// or sum() returns).
func (r queryResult) empty() bool {
	if len(r.rows) == 0 {
		return true
	}
	if len(r.rows) > 1 {
		return false
	}
	for _, v := range r.rows[0] {
		rv := reflect.ValueOf(v)
		for rv.Kind() == reflect.Pointer && !rv.IsNil() {
			rv = rv.Elem()
		}
		if rv.IsValid() && !(rv.Kind() == reflect.Pointer && rv.IsNil()) && !rv.IsZero() {
			return false
		}
	}
	return true
}

func (r queryResult) column(name string) int { return slices.Index(r.columns, name) }

func runQuery(ctx context.Context, conn driver.Conn, sql string) (queryResult, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return queryResult{}, err
	}
	defer rows.Close()
	var res queryResult
	cts := rows.ColumnTypes()
	for _, ct := range cts {
		res.columns = append(res.columns, ct.Name())
		res.types = append(res.types, ct.DatabaseTypeName())
	}
	for rows.Next() {
		dest := make([]any, len(cts))
		for i, ct := range cts {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return res, err
		}
		res.rows = append(res.rows, dest)
	}
	return res, rows.Err()
}

// selection is one assignment of a dashboard's variables.
type selection struct {
	name string
	env  expandEnv
}

// selections enumerates the assignments the test runs: every value of each
// custom variable, crossed with the query variable set to All, to each one
// of singles that is among its values (or its first value), and to two
// values. The values come from the dashboard's own variable query, so the
// teams are k-safe teams.
func selections(t *testing.T, d chDashboard, base expandEnv, varValues map[string][]string, singles []string) []selection {
	t.Helper()
	envs := []selection{{name: "", env: base}}
	for _, v := range d.vars {
		var opts []selection
		for _, e := range envs {
			switch v.typ {
			case "custom":
				if len(v.values) == 0 {
					t.Fatalf("%s: custom variable %s has no options", d.file, v.name)
				}
				for _, val := range v.values {
					opts = append(opts, e.with(v.name, fmt.Sprintf("%s=%s", v.name, val), []string{val}, false))
				}
			case "query":
				all := varValues[v.name]
				if len(all) == 0 {
					t.Fatalf("%s: variable %s has no values", d.file, v.name)
				}
				if v.all {
					opts = append(opts, e.with(v.name, v.name+"=All", all, true))
				}
				var one []string
				for _, x := range singles {
					if slices.Contains(all, x) {
						one = append(one, x)
					}
				}
				if len(one) == 0 {
					one = all[:1]
				}
				for _, x := range one {
					opts = append(opts, e.with(v.name, v.name+"="+x, []string{x}, false))
				}
				if v.multi && len(all) > 1 {
					two := []string{all[len(all)-1], all[0]}
					opts = append(opts, e.with(v.name, v.name+"="+strings.Join(two, "+"), two, false))
				}
			default:
				t.Fatalf("%s: variable %s of type %s is not supported by this test", d.file, v.name, v.typ)
			}
		}
		envs = opts
	}
	return envs
}

func (s selection) with(name, label string, vals []string, all bool) selection {
	env := s.env
	env.values = maps1(env.values)
	env.allSelected = mapsB(env.allSelected)
	env.values[name] = vals
	env.allSelected[name] = all
	return selection{name: strings.TrimPrefix(s.name+" "+label, " "), env: env}
}

func maps1(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mapsB(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

var dbRefRE = regexp.MustCompile(`\bcommpulse\.`)

// Acceptance (issue 6): every ClickHouse query of every dashboard (panel
// targets, annotations, variable queries), expanded as Grafana would for
// every variable selection over the generated history, runs without error
// on a real ClickHouse holding analyzed data and returns rows. Anomaly
// queries may be empty for a selection (a team without anomalies) but must
// have rows with all teams and with one planted team; a time series starts with its time column; an
// annotation has time and text; a result with a team column holds only the
// selected teams.
func TestDashboardQueriesOnGeneratedData(t *testing.T) {
	dashes := loadCHDashboards(t)
	conn, db, org := generateAnalyzed(t)
	ctx := context.Background()
	rewrite := func(sql string) string { return dbRefRE.ReplaceAllString(sql, "`"+db+"`.") }
	base := expandEnv{
		from:     org.Config().Start.Add(-time.Hour),
		to:       org.Config().End().Add(time.Hour),
		interval: time.Hour,
	}
	// The planted teams are the single-team selections, so that the team
	// filter of the anomaly queries is exercised on rows, not only on none.
	scen, err := synth.ParseScenarios(dashboardScenarios)
	if err != nil {
		t.Fatal(err)
	}
	var planted []string
	for _, s := range scen {
		planted = append(planted, s.Team)
	}
	// A published view may be listed (and granted) before the migration
	// that creates it is merged: its queries are skipped, loudly.
	exists := map[string]bool{}
	if res, err := runQuery(ctx, conn, "SELECT name FROM system.tables WHERE database = '"+db+"'"); err != nil {
		t.Fatal(err)
	} else {
		for _, r := range res.rows {
			exists[fmt.Sprint(reflect.ValueOf(r[0]).Elem().Interface())] = true
		}
	}
	missing := func(sql string) string {
		for _, r := range dbTableRE.FindAllStringSubmatch(sql, -1) {
			if !exists[r[3]] {
				return r[3]
			}
		}
		return ""
	}
	ran := 0
	for _, d := range dashes {
		t.Run(strings.TrimSuffix(d.file, ".json"), func(t *testing.T) {
			// The variable queries first: their values drive the selections.
			varValues := map[string][]string{}
			for _, v := range d.vars {
				if v.typ != "query" {
					continue
				}
				sql, err := expandSQL(v.query, base)
				if err != nil {
					t.Fatalf("variable %s: %v", v.name, err)
				}
				res, err := runQuery(ctx, conn, rewrite(sql))
				if err != nil {
					t.Fatalf("variable %s: %v\n%s", v.name, err, sql)
				}
				for _, r := range res.rows {
					varValues[v.name] = append(varValues[v.name], fmt.Sprint(reflect.ValueOf(r[0]).Elem().Interface()))
				}
			}
			sels := selections(t, d, base, varValues, planted)
			for _, q := range d.queries {
				if v := missing(q.sql); v != "" {
					t.Logf("%s: SKIPPED, it reads %s, which no migration creates yet", q.where, v)
					continue
				}
				nonEmpty, allRows, oneRows := 0, 0, 0
				var emptyIn []string
				for _, sel := range sels {
					sql, err := expandSQL(q.sql, sel.env)
					if err != nil {
						t.Errorf("%s [%s]: %v", q.where, sel.name, err)
						continue
					}
					res, err := runQuery(ctx, conn, rewrite(sql))
					ran++
					if err != nil {
						t.Errorf("%s [%s]: %v\n%s", q.where, sel.name, err, sql)
						continue
					}
					if res.empty() {
						emptyIn = append(emptyIn, sel.name)
					} else {
						nonEmpty++
						if sel.env.allSelected["team"] {
							allRows++
						} else if len(sel.env.values["team"]) == 1 {
							oneRows++
						}
					}
					checkShape(t, q, sel, res)
				}
				switch {
				case nonEmpty == 0:
					t.Errorf("%s: no rows for any selection (%d tried)", q.where, len(sels))
				case !strings.HasPrefix(q.where, "variable") && (allRows == 0 || oneRows == 0):
					t.Errorf("%s: rows for %d selections with all teams and %d with one team; want both (empty for %s)",
						q.where, allRows, oneRows, strings.Join(emptyIn, "; "))
				case len(emptyIn) > 0 && !strings.Contains(q.sql, "anomalies_k"):
					// Every k-safe team has rows in every window kind; only
					// anomalies are legitimately absent for a team.
					t.Errorf("%s: no rows for %s", q.where, strings.Join(emptyIn, "; "))
				case len(emptyIn) > 0:
					t.Logf("%s: rows for %d of %d selections (no anomaly for %s)", q.where, nonEmpty, len(sels), strings.Join(emptyIn, "; "))
				}
			}
		})
	}
	t.Logf("ran %d expanded queries of %d dashboards", ran, len(dashes))
}

func checkShape(t *testing.T, q chQuery, sel selection, res queryResult) {
	t.Helper()
	switch {
	case q.format == 0:
		if len(res.types) == 0 || !strings.HasPrefix(res.types[0], "DateTime") {
			t.Errorf("%s: time series whose first column is %v, not a DateTime", q.where, res.types)
		}
	case strings.HasPrefix(q.where, "annotation"):
		if res.column("time") < 0 || res.column("text") < 0 {
			t.Errorf("%s: annotation columns %v; want time and text", q.where, res.columns)
		}
	}
	i := res.column("team")
	if i < 0 || strings.HasPrefix(q.where, "variable") {
		return
	}
	want := sel.env.values["team"]
	for _, r := range res.rows {
		team := fmt.Sprint(reflect.ValueOf(r[i]).Elem().Interface())
		if !slices.Contains(want, team) {
			t.Errorf("%s [%s]: row of team %q, which is not selected", q.where, sel.name, team)
			return
		}
	}
}
