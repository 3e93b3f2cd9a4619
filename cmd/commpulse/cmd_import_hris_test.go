package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// hrisFixture is the HRIS export of pipeline/importer/testdata: employee
// ids, names and salaries are in it on purpose.
const hrisFixture = "../../pipeline/importer/testdata/hris.csv"

// TestImportHRISEndToEnd: mail imported with the HRIS export as the
// directory -> Kafka -> ingest -> ClickHouse. Each message carries its
// sender's team at its time and is judged after hours in the sender's own
// time zone and working hours (Ada: Berlin, 8-16; Grace: New York, the
// default 9-18); no name, employee id or salary of the export reaches
// Kafka or ClickHouse; a re-import adds no row.
func TestImportHRISEndToEnd(t *testing.T) {
	e := newImportE2E(t)
	mail := filepath.Join(e.dir, "mail")
	if err := os.MkdirAll(mail, 0o755); err != nil {
		t.Fatal(err)
	}
	// Tuesday 24 November 2026 (CET is UTC+1, EST UTC-5).
	for i, m := range []struct{ at, from, to string }{
		{"10:00", "ada", "grace"},   // Berlin 11:00: working time
		{"12:00", "grace", "ada"},   // New York 07:00: after hours
		{"14:00", "grace", "ada"},   // New York 09:00: working time
		{"16:30", "ada", "grace"},   // Berlin 17:30: after hours
		{"17:00", "ada", "partner"}, // to the outside: still Ada's message
	} {
		to := m.to + "@example.com"
		if m.to == "partner" {
			to = "partner@other.org"
		}
		msg := fmt.Sprintf("Message-ID: <hris-%d@mail.example.com>\r\nDate: Tue, 24 Nov 2026 %s:00 +0000\r\nFrom: %s@example.com\r\nTo: %s\r\n"+
			"Subject: Status\r\n\r\nThanks for the review, the release looks good to me.\r\n", i, m.at, m.from, to)
		if err := os.WriteFile(filepath.Join(mail, fmt.Sprintf("%d.eml", i)), []byte(msg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	importOnce := func() string {
		var stdout, stderr strings.Builder
		args := []string{"--brokers", strings.Join(e.brokers, ","), "--pseudonym-key-file", e.key, "--domain", "example.com",
			"--directory", hrisFixture, "--progress-interval", "0", mail}
		if err := runImportMail(e.ctx, args, &stdout, &stderr, func(string) (string, bool) { return "", false }); err != nil {
			t.Fatal(err, stderr.String())
		}
		return stdout.String()
	}
	const wantEvents = 5
	if s := importOnce(); !strings.Contains(s, fmt.Sprintf("imported %d", wantEvents)) {
		t.Fatalf("summary %q", s)
	}
	h := e.ingest(t)
	h.waitUntil("the imported events in ClickHouse", func() bool { return h.count("SELECT count() FROM {db}.messages FINAL") >= wantEvents })

	ada, grace := e.ps.ID(e.ps.ID("ada@example.com")), e.ps.ID(e.ps.ID("grace@example.com"))
	rows, err := h.st.Conn().Query(e.ctx, strings.ReplaceAll(`SELECT formatDateTime(occurred_at, '%H:%i', 'UTC'), sender, toString(team),
		ifNull(toInt8(after_hours), -1) FROM {db}.messages FINAL ORDER BY occurred_at`, "{db}", h.db))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var (
			at, sender, team string
			after            int8
		)
		if err := rows.Scan(&at, &sender, &team, &after); err != nil {
			t.Fatal(err)
		}
		who := map[string]string{ada: "ada", grace: "grace"}[sender]
		got = append(got, fmt.Sprintf("%s %s %s %d", at, who, team, after))
	}
	rows.Close()
	want := []string{"10:00 ada platform 0", "12:00 grace platform 1", "14:00 grace platform 0", "16:30 ada platform 1", "17:00 ada platform 1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored (time sender team after_hours):\n%v\nwant\n%v", got, want)
	}

	// Office and time zone are directory fields by design (coarse
	// categories the after-hours rule needs); names, employee ids,
	// addresses and salaries are not.
	t.Run("no name, employee id or salary stored or on Kafka", func(t *testing.T) {
		re := regexp.MustCompile(`(?i)lovelace|hopper|turing|\bada\b|\bgrace\b|@example\.com|@other\.org|\bE[1-4]00\b|99000|77000|81000|88000`)
		h.scanLeaks(t, wantEvents, func(where, v string) error {
			if m := re.FindString(v); m != "" {
				return fmt.Errorf("%s holds %q of the HRIS export", where, m)
			}
			return nil
		})
	})

	t.Run("re-import adds no rows after dedup", func(t *testing.T) { h.reimportAddsNothing(t, importOnce, wantEvents) })
}
