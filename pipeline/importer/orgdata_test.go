package importer

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/event"
)

func TestReadDirectoryCSVHRIS(t *testing.T) {
	f, err := os.Open("testdata/hris.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := ReadDirectoryCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Dated {
		t.Fatal("an HRIS header read as the address,team form")
	}
	day := func(s string) time.Time { t, _ := time.Parse("2006-01-02", s); return t }
	grace := d.People["grace@example.com"]
	if len(grace) != 2 || grace[0].Team != "support" || grace[1].Team != "platform" {
		t.Fatalf("grace: %+v, want support then platform", grace)
	}
	// A date-only end is inclusive: support ends at the start of Feb 1.
	if !grace[0].ValidTo.Equal(day("2026-02-01")) || !grace[1].ValidTo.IsZero() {
		t.Errorf("grace's periods end %v and %v, want 2026-02-01 and open", grace[0].ValidTo, grace[1].ValidTo)
	}
	// The manager column resolves an employee id and an address to the same key.
	if grace[0].Manager != "ada@example.com" || grace[1].Manager != "ada@example.com" {
		t.Errorf("grace's managers %q, %q: want ada's address for both", grace[0].Manager, grace[1].Manager)
	}
	ada := d.People["ada@example.com"][0]
	if ada.TimeZone != "Europe/Berlin" || ada.WorkStartHour != 8 || ada.WorkEndHour != 16 || ada.Level != "L6" || ada.Location != "Berlin" {
		t.Errorf("ada: %+v", ada)
	}
	if alan := d.People["employee:e300"]; len(alan) != 1 || alan[0].Team != "research" || !alan[0].ValidFrom.Equal(day("2025-06-01")) {
		t.Errorf("a person with only an employee id: %+v", alan)
	}
}

func TestReadDirectoryCSVErrors(t *testing.T) {
	tests := []struct{ name, csv, want string }{
		{"no team", "email,team\na@example.com,\n", "line 2"},
		{"bad zone", "email,team,time_zone\na@example.com,x,Mars/Base\n", `line 2: period 1: time zone "Mars/Base"`},
		{"bad hours", "email,team,work_start_hour,work_end_hour\na@example.com,x,18,9\n", "line 2: period 1: working hours 18..9"},
		{"bad date", "email,team,valid_from\na@example.com,x,yesterday\n", "line 2: valid_from: want 2006-01-02 or RFC 3339"},
		{"end before start", "email,team,valid_from,valid_to\na@example.com,x,2026-02-01,2026-01-01\n", "line 2: period 1: valid_to"},
		{"no key", "email,employee_id,team,name\n,,x,Secret Name\n", "line 2: no person key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadDirectoryCSV(strings.NewReader(tt.csv))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "Secret") || strings.Contains(err.Error(), "yesterday") {
				t.Fatalf("error quotes the input: %v", err)
			}
		})
	}
}

// The records of an HRIS export are v2, pseudonymised throughout (person
// and manager), carry no name or address, and skip people outside the
// company domains.
func TestDirectoryRecordsHRIS(t *testing.T) {
	b := testBase(t)
	f, err := os.Open("testdata/hris.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := ReadDirectoryCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	recs := b.DirectoryRecords(d, time.Now())
	if len(recs) != 3 {
		t.Fatalf("%d records, want ada, grace and alan (the partner is external)", len(recs))
	}
	for _, r := range recs {
		for _, word := range []string{"ada", "grace", "Hopper", "Lovelace", "example.com", "E100", "e100", "99000", "Outside"} {
			if strings.Contains(string(r.Value), word) || strings.Contains(string(r.Key), word) {
				t.Errorf("record %s carries %q from the HRIS file", r.Value, word)
			}
		}
		var dir event.Directory
		if err := json.Unmarshal(r.Value, &dir); err != nil || dir.Validate() != nil || len(dir.Periods) == 0 {
			t.Fatalf("record %s: %v", r.Value, err)
		}
		if dir.Person != string(r.Key) || dir.Team != dir.Periods[len(dir.Periods)-1].Team {
			t.Errorf("record %s: key or v1 team disagrees with the periods", r.Value)
		}
	}
	grace := b.PersonID("grace@example.com")
	ada := b.PersonID("ada@example.com")
	for _, r := range recs {
		if string(r.Key) != grace {
			continue
		}
		var dir event.Directory
		_ = json.Unmarshal(r.Value, &dir)
		if dir.Periods[0].Manager != ada || dir.Periods[1].Manager != ada {
			t.Errorf("grace's manager %q/%q, want ada's pseudonym %q", dir.Periods[0].Manager, dir.Periods[1].Manager, ada)
		}
		return
	}
	t.Fatal("no record for grace")
}
