package event_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/event"
)

func TestDirectoryValidate(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	feb := jan.AddDate(0, 1, 0)
	tests := []struct {
		name    string
		d       event.Directory
		wantErr string // "" valid
	}{
		{name: "v1", d: event.Directory{Person: "p_1", Team: "a"}},
		{name: "v1 without team", d: event.Directory{Person: "p_1"}, wantErr: "person and team are required"},
		{name: "v2 closed and open periods", d: event.Directory{Person: "p_1", Team: "b", Periods: []event.DirectoryPeriod{
			{Team: "a", ValidFrom: jan, ValidTo: feb, TimeZone: "Europe/Berlin", WorkStartHour: 8, WorkEndHour: 16},
			{Team: "b", ValidFrom: feb, TimeZone: "Asia/Kolkata"},
		}}},
		{name: "period without team", d: event.Directory{Person: "p_1", Team: "a", Periods: []event.DirectoryPeriod{{ValidFrom: jan}}}, wantErr: "period 1: team is required"},
		{name: "valid_to before valid_from", d: event.Directory{Person: "p_1", Team: "a", Periods: []event.DirectoryPeriod{{Team: "a", ValidFrom: feb, ValidTo: jan}}}, wantErr: "is not after valid_from"},
		{name: "unknown time zone", d: event.Directory{Person: "p_1", Team: "a", Periods: []event.DirectoryPeriod{{Team: "a", TimeZone: "Mars/Olympus"}}}, wantErr: `time zone "Mars/Olympus"`},
		{name: "hours reversed", d: event.Directory{Person: "p_1", Team: "a", Periods: []event.DirectoryPeriod{{Team: "a", WorkStartHour: 18, WorkEndHour: 9}}}, wantErr: "working hours 18..9"},
		{name: "hours past midnight", d: event.Directory{Person: "p_1", Team: "a", Periods: []event.DirectoryPeriod{{Team: "a", WorkStartHour: 9, WorkEndHour: 25}}}, wantErr: "working hours 9..25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// A v2 record still reads as v1 (person, team, valid_from) for a reader
// that does not know periods, and an open period has no valid_to on the
// wire.
func TestDirectoryV2IsBackwardCompatible(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b, err := json.Marshal(event.Directory{Person: "p_1", Team: "b", ValidFrom: jan, Periods: []event.DirectoryPeriod{{Team: "b", ValidFrom: jan}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "valid_to") {
		t.Errorf("open period carries valid_to: %s", b)
	}
	var v1 struct {
		Person    string    `json:"person"`
		Team      string    `json:"team"`
		ValidFrom time.Time `json:"valid_from"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&v1); err != nil || v1.Person != "p_1" || v1.Team != "b" || !v1.ValidFrom.Equal(jan) {
		t.Fatalf("v1 view of a v2 record: %+v, %v", v1, err)
	}
}

func TestAfterHours(t *testing.T) {
	p := event.DirectoryPeriod{Team: "a", TimeZone: "Asia/Tokyo"}
	// 2026-01-14 is a Wednesday; 00:30 UTC is 09:30 in Tokyo.
	if after, ok := p.AfterHours(time.Date(2026, 1, 14, 0, 30, 0, 0, time.UTC)); !ok || after {
		t.Fatalf("09:30 Tokyo: after=%v ok=%v, want inside default hours", after, ok)
	}
	if after, ok := p.AfterHours(time.Date(2026, 1, 14, 9, 30, 0, 0, time.UTC)); !ok || !after {
		t.Fatalf("18:30 Tokyo: after=%v ok=%v, want after hours", after, ok)
	}
	if _, ok := (event.DirectoryPeriod{Team: "a"}).AfterHours(time.Now()); ok {
		t.Fatal("a period without a time zone judged after-hours")
	}
}
