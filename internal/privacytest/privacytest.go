// Package privacytest holds the privacy assertions shared by integration
// tests: no message text in storage, no person id in metric labels.
package privacytest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
)

// MinSubstringLen is the shortest text searched for as a substring. Very
// short texts ("ok", ":+1:") occur inside ids and JSON by chance; they are
// still checked for verbatim equality.
const MinSubstringLen = 12

// TextScanner checks strings against a set of message texts.
type TextScanner struct {
	texts []string // by length
	set   map[string]bool
	// Scanned counts the strings checked.
	Scanned int
}

// NewTextScanner prepares texts for Check.
func NewTextScanner(texts []string) *TextScanner {
	s := &TextScanner{texts: slices.Clone(texts), set: map[string]bool{}}
	sort.Slice(s.texts, func(i, j int) bool { return len(s.texts[i]) < len(s.texts[j]) })
	for _, t := range texts {
		s.set[t] = true
	}
	return s
}

// Check returns an error when v equals or contains a text.
func (s *TextScanner) Check(where, v string) error {
	s.Scanned++
	if s.set[v] {
		return fmt.Errorf("%s holds a message text verbatim", where)
	}
	for _, tx := range s.texts {
		if len(tx) > len(v) {
			break
		}
		if len(tx) >= MinSubstringLen && strings.Contains(v, tx) {
			return fmt.Errorf("%s contains a message text: %.200q", where, v)
		}
	}
	return nil
}

// AssertNoTextInDatabase scans every distinct value of every String-typed
// column (including arrays and LowCardinality) of every table and view in
// db, and fails the test on the first one holding a text. It returns the
// number of distinct values scanned.
func AssertNoTextInDatabase(t testing.TB, conn driver.Conn, db string, s *TextScanner) int {
	t.Helper()
	if len(s.texts) == 0 {
		t.Fatal("privacytest: no texts given; the scan would prove nothing")
	}
	return EachStoredString(t, conn, db, func(where, v string) error { return s.Check(where, v) })
}

// EachStoredString calls check with every distinct value of every
// String-typed column (including arrays and LowCardinality) of every table
// and view in db, and fails the test on the first error. It returns the
// number of values checked. It is the one database scan of the privacy
// tests; AssertNoTextInDatabase and the importers' leak scans use it.
func EachStoredString(t testing.TB, conn driver.Conn, db string, check func(where, v string) error) int {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT table, name, type FROM system.columns
		WHERE database = ? AND type LIKE '%String%' ORDER BY table, name`, db)
	if err != nil {
		t.Fatal(err)
	}
	type col struct{ table, name, typ string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.name, &c.typ); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	rows.Close()
	n := 0
	for _, c := range cols {
		expr := "toString(`" + c.name + "`)"
		if strings.Contains(c.typ, "Array") {
			expr = "toString(arrayJoin(`" + c.name + "`))"
		}
		q := fmt.Sprintf("SELECT DISTINCT %s FROM `%s`.`%s`", expr, db, c.table)
		r, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for r.Next() {
			var v string
			if err := r.Scan(&v); err != nil {
				t.Fatal(err)
			}
			n++
			if err := check(c.table+"."+c.name, v); err != nil {
				r.Close()
				t.Fatal(err)
			}
		}
		r.Close()
	}
	return n
}

// AssertNoPersonInLabels fails when a label value of any metric gathered
// from g equals or contains one of the person ids. It returns the number of
// label values checked.
func AssertNoPersonInLabels(t testing.TB, g prometheus.Gatherer, persons []string) int {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				n++
				for _, p := range persons {
					if strings.Contains(lp.GetValue(), p) {
						t.Fatalf("metric %s label %s holds a person id", mf.GetName(), lp.GetName())
					}
				}
			}
		}
	}
	return n
}
