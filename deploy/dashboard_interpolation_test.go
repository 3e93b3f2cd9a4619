package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unsafeInterpolations returns the template-variable references of a
// dashboard query that reach ClickHouse unescaped. Grafana substitutes
// variables as text and the ClickHouse plugin escapes nothing, and a
// variable's value can come from the URL (var-window=...), so a reference
// is safe only as
//
//   - ${name:singlequote}: every value quoted, quotes escaped (for the
//     multi-value team lists, whose values come from a k-safe view); or
//   - '${name:percentencode}': inside a string literal, percent-encoded,
//     so it holds no quote and no backslash and cannot end the literal;
//     validated further where it is used (toUInt16 refuses a non-number).
//
// The variable argument of $__conditionalAll(condition, $var) is read by
// the plugin and never reaches SQL; $__ macros are not variables.
// '${name}' is not safe: a value with a quote or a backslash ends the
// literal.
func unsafeInterpolations(sql string) []string {
	for off := 0; ; {
		i := strings.Index(sql[off:], "$__conditionalAll(")
		if i < 0 {
			break
		}
		i += off
		args, end, err := macroArgs(sql, i+len("$__conditionalAll"))
		if err != nil || len(args) < 2 {
			return []string{"malformed $__conditionalAll"}
		}
		last := strings.TrimSpace(args[len(args)-1])
		if m := varRE.FindStringSubmatch(last); m == nil || m[0] != last || m[2] != "" {
			return []string{"$__conditionalAll with " + last + " as its variable"}
		}
		cond := strings.Join(args[:len(args)-1], ",")
		sql = sql[:i] + "(" + cond + ")" + sql[end:]
		off = i + 1
	}
	var bad []string
	for _, loc := range varRE.FindAllStringSubmatchIndex(sql, -1) {
		ref := sql[loc[0]:loc[1]]
		name := ""
		if loc[2] >= 0 {
			name = sql[loc[2]:loc[3]]
		} else {
			name = sql[loc[6]:loc[7]]
		}
		if strings.HasPrefix(name, "__") {
			continue
		}
		format := ""
		if loc[4] >= 0 {
			format = sql[loc[4]:loc[5]]
		}
		quoted := loc[0] > 0 && sql[loc[0]-1] == '\'' && loc[1] < len(sql) && sql[loc[1]] == '\''
		switch {
		case format == "singlequote":
		case format == "percentencode" && quoted:
		default:
			bad = append(bad, ref)
		}
	}
	return bad
}

func TestUnsafeInterpolations(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want string // the unsafe references, comma-separated
	}{
		{"WHERE $__timeFilter(t) AND $__conditionalAll(team IN (${team:singlequote}), $team)", ""},
		{"WHERE window_days = toUInt16('${window:percentencode}')", ""},
		{"WHERE window_days = ${window}", "${window}"},
		{"WHERE granularity = '${granularity}'", "${granularity}"},
		{"WHERE g = ${granularity:percentencode}", "${granularity:percentencode}"},
		{"WHERE team = '$team' OR x = $x", "$team,$x"},
		{"WHERE team IN (${team:csv})", "${team:csv}"},
		{"WHERE $__conditionalAll(team = $team, $team)", "$team"},
		{"WHERE $__conditionalAll(1=1, ${team:singlequote})", "$__conditionalAll with ${team:singlequote} as its variable"},
	} {
		if got := strings.Join(unsafeInterpolations(tc.sql), ","); got != tc.want {
			t.Errorf("unsafeInterpolations(%q) = %q, want %q", tc.sql, got, tc.want)
		}
	}
}

// No dashboard query puts a template variable into SQL unescaped, and the
// custom variables of the ClickHouse dashboards accept only their listed
// options. The analyst role
// (SELECT on the published views only, readonly) is what bounds an
// injection; this keeps the dashboards from offering one.
func TestDashboardInterpolationsAreEscaped(t *testing.T) {
	n := 0
	chFiles := map[string]bool{}
	for _, d := range loadCHDashboards(t) {
		chFiles[d.file] = true
		for _, q := range d.queries {
			n++
			for _, ref := range unsafeInterpolations(q.sql) {
				t.Errorf("%s %s: %s reaches SQL unescaped; use ${var:singlequote} or '${var:percentencode}'", d.file, q.where, ref)
			}
		}
	}
	if n == 0 {
		t.Fatal("no ClickHouse queries")
	}
	files, _ := filepath.Glob(filepath.Join(root, "deploy/grafana/dashboards/*.json"))
	for _, f := range files {
		if !chFiles[filepath.Base(f)] {
			continue // Prometheus only: its custom variables are job names
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Templating struct {
				List []struct {
					Name             string `json:"name"`
					Type             string `json:"type"`
					AllowCustomValue *bool  `json:"allowCustomValue"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, v := range d.Templating.List {
			if v.Type == "custom" && (v.AllowCustomValue == nil || *v.AllowCustomValue) {
				t.Errorf("%s: custom variable %s accepts custom values; set allowCustomValue false", filepath.Base(f), v.Name)
			}
		}
	}
}
