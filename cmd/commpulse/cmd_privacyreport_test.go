package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"commpulse/pipeline/store"
	"commpulse/pipeline/store/storetest"
)

// The report agrees with the schema: the migrations, run on the embedded
// server, create exactly the tables and views the report lists, each with
// the TTL the report gives it (compared with system.tables), and the
// printed report names every table with that TTL and its person columns.
func TestPrivacyReportMatchesTheSchema(t *testing.T) {
	st, srv, db := storetest.Migrated(t)
	objs, _, err := schemaFromMigrations(db, store.DefaultTTLDays)
	if err != nil {
		t.Fatal(err)
	}
	diffs, err := compareLive(context.Background(), st, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Fatalf("report and schema differ:\n%s", strings.Join(diffs, "\n"))
	}
	ttls := 0
	for _, o := range objs {
		if o.TTL != "" {
			ttls++
		}
	}
	if len(objs) < 10 || ttls < 3 {
		t.Fatalf("%d objects, %d with a TTL: the parse found too little to prove anything", len(objs), ttls)
	}

	var out, errb bytes.Buffer
	if code := run([]string{"privacy-report", "--ch-addr", srv.Addr(), "--ch-database", db, "--live", "--k", "7"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	report := out.String()
	for _, o := range objs {
		line := ""
		for _, l := range strings.Split(report, "\n") {
			if strings.HasPrefix(l, "| "+o.Name+" |") {
				line = l
			}
		}
		if line == "" {
			t.Errorf("table %s missing from the report", o.Name)
			continue
		}
		if o.TTL != "" && !strings.Contains(line, "TTL "+o.TTL) {
			t.Errorf("%s: report line lacks TTL %q: %s", o.Name, o.TTL, line)
		}
	}
	for _, pc := range store.PersonTables {
		if !strings.Contains(report, "| "+pc.Table+" |") || !strings.Contains(report, pc.Column) {
			t.Errorf("person column %s.%s not in the report", pc.Table, pc.Column)
		}
	}
	for _, want := range []string{"INTERVAL 180 DAY", "| k (--k) |", "| 7 |", "match this report", "| epsilon per person-day |"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Who can read what is the access model: the analyst reads exactly the
	// published views.
	for _, line := range strings.Split(report, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Contains(line, "_analyst |") {
			ok := false
			for _, v := range store.PublishedViews {
				ok = ok || strings.HasSuffix(line, "."+v+" |")
			}
			if !ok {
				t.Errorf("the analyst reads something that is not a published view: %s", line)
			}
		}
	}
	for _, v := range store.PublishedViews {
		if !strings.Contains(report, "_analyst | SELECT | ") || !strings.Contains(report, "."+v+" |") {
			t.Errorf("the report does not say the analyst reads %s", v)
		}
	}
}

// Retention from the config reaches the report without a server.
func TestPrivacyReportOffline(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"privacy-report", "--retention-days", "30", "--ch-database", "hr"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "INTERVAL 30 DAY") || strings.Contains(out.String(), "INTERVAL 180 DAY") || !strings.Contains(out.String(), "database hr") {
		t.Fatalf("retention or database not applied:\n%s", out.String())
	}
	for _, want := range []string{"| cap themes (--privacy-cap-themes) | ", "the sensitivity of the theme noise | 10 |", "below it no row | 20 |", "(basic composition) | 46.25 |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// On a cluster the report lists the cluster's grants: the local tables,
// system.clusters, the interserver user.
func TestAccessGrantsCluster(t *testing.T) {
	one, cl := accessGrants("cpx", store.Cluster{}), accessGrants("cpx", store.Cluster{Name: "prod"})
	for _, want := range []accessGrant{
		{"cpx_writer", "SELECT, INSERT, ALTER DELETE, ALTER UPDATE", "cpx.messages_local"},
		{"cpx_writer", "SELECT", "system.clusters"},
		{"cpx_interserver", "SELECT, INSERT", "cpx.team_stats_local"},
		{"cpx_admin", "TABLE ENGINE", "engine Distributed"},
	} {
		if !slices.Contains(cl, want) {
			t.Errorf("cluster grants lack %+v", want)
		}
		if slices.Contains(one, want) {
			t.Errorf("one-server grants have %+v", want)
		}
	}
}
